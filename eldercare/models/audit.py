from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import Model


class AuditEntry(Model):
    """Who did what to which record, when, with before/after values. Append-only: the
    application never updates or deletes a row of this table, and each row's hash
    covers the one before it in its chain, so that a changed or removed row breaks the
    chain."""

    __tablename__ = "audit_log"
    __audit__ = False
    __table_args__ = (
        sa.Index("ix_audit_entity", "entity", "entity_id"),
        sa.Index("ix_audit_log_chain_id", "chain", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[int] = mapped_column(
        sa.SmallInteger,
        default=0,
        server_default="0",
        comment="which hash chain (eldercare/audit_chain.py): a writer appends to a free one",
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(sa.String(64), comment="or cli:/job: for machines")
    action: Mapped[str] = mapped_column(sa.String(40), comment="create, update, delete, view_id…")
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(40))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(
        sa.String(64), comment="sha256(prev_hash + this entry): `eldercare audit verify`"
    )
