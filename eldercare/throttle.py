"""Counting failures per key, and locking the key for a while after too many.

One row per key in `throttles`; every change is one conditional UPDATE, so concurrent
failures on several processes all count (ENGINEERING.md: the counters live in the
database). Used by the login's per-address throttle and the card-number lookups.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .database import UTCDateTime, is_postgres, utcnow
from .extensions import db
from .models.throttle import Throttle


def locked_until(key: str) -> datetime | None:
    """When the key's lock ends, or None when it is not locked now."""
    until = db.session.scalar(sa.select(Throttle.locked_until).where(Throttle.key == key))
    return until if until is not None and until > utcnow() else None


def fail(key: str, *, limit: int, window: timedelta, lock: timedelta) -> datetime | None:
    """Count one failure for `key`. The `limit`-th failure within `window` of the first
    locks the key for `lock`; returns the end of the lock when it is locked, else None.
    Flushes nothing through the ORM, never commits."""
    now = utcnow()
    conn = db.session.connection()
    insert = (postgresql if is_postgres(conn) else sqlite).insert
    conn.execute(
        insert(Throttle)
        .values(key=key, failures=0, window_from=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    t = Throttle.__table__.c
    at = sa.literal(now, UTCDateTime())
    stale = t.window_from < sa.literal(now - window, UTCDateTime())
    failures = sa.case((stale, 1), else_=t.failures + 1)
    conn.execute(
        sa.update(Throttle)
        .where(t.key == key)
        .values(
            failures=failures,
            window_from=sa.case((stale, at), else_=t.window_from),
            locked_until=sa.case(
                (failures >= limit, sa.literal(now + lock, UTCDateTime())), else_=t.locked_until
            ),
        )
    )
    return locked_until(key)


def clear(key: str) -> None:
    """Forget the key's failures (a success)."""
    db.session.execute(sa.delete(Throttle).where(Throttle.key == key))
