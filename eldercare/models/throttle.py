"""Failure counters by key, shared by every worker process and host (in the database).

The login form's per-address throttle and the card-number lookups' per-account limit
count here; eldercare/throttle.py holds the rules.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import Model


class Throttle(Model):
    __tablename__ = "throttles"
    __audit__ = False  # counters; the events they count are audited where they happen

    key: Mapped[str] = mapped_column(
        sa.String(128), primary_key=True, comment="what is counted: 'login-ip:1.2.3.4', …"
    )
    failures: Mapped[int] = mapped_column(default=0, comment="failures since window_from")
    window_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
