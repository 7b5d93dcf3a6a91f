"""A scan counts once (ENGINEERING.md): the Scan row of (user, client_id) is claimed first
thing in a scan's or a hand-logged visit's work, in the same transaction as its effect,
so a repeat finds it and changes nothing, whichever page or endpoint sent it, also when
its twin got there between the look-up and the write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from eldercare.database import is_postgres, table_of, utcnow
from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import User

from .models import Scan, ScanKind, Visit


def request_hash(body: dict) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def replay(user: User, client_id: str, body_hash: str) -> Visit | None:
    """The visit of an earlier scan with this client_id, or None for a new one.
    Raises Conflict when the same client_id came with another body."""
    scan = db.session.scalar(
        sa.select(Scan).where(Scan.user_id == user.id, Scan.client_id == client_id)
    )
    if scan is None:
        return None
    if scan.request_hash != body_hash:
        raise Conflict(_l("该 client_id 已用于另一次扫码"), code="client_id_reused")
    return db.session.get(Visit, scan.visit_id)


def once(
    user: User, client_id: str | None, raw: dict, work: Callable[[], Visit]
) -> tuple[Visit, bool]:
    """The one rule for a repeated scan or hand-logged visit, whichever page or endpoint
    it came from: the visit of an earlier request of `user` with this client_id and
    False; else `work()` (scan or manual_visit, which claim the Scan row before they
    write anything) and True. A twin sent at the same moment that got there first leaves
    the claim's `INSERT … ON CONFLICT DO NOTHING` without a row (on PostgreSQL after
    waiting for the twin's commit): nothing was written yet, and the twin's visit is
    answered. Without a client_id, work() simply runs. Raises Conflict
    (client_id_reused: the same client_id with another body) and what work() raises.
    Flushes, never commits."""
    if not client_id:
        return work(), True
    body_hash = request_hash(raw)
    if (earlier := replay(user, client_id, body_hash)) is not None:
        return earlier, False
    try:
        return work(), True
    except _Twin:
        twin = replay(user, client_id, body_hash)
        if twin is None:  # the twin's row without its visit: not one of ours
            raise Conflict(_l("该 client_id 已用于另一次扫码"), code="client_id_reused") from None
        return twin, False


class _Twin(Exception):
    """The Scan row of this (user, client_id) is there already: a twin request's."""


def claim_scan(user: User, client_id: str, body_hash: str, kind: ScanKind) -> int:
    """The Scan row, first thing in a scan's work (UNIQUE(user_id, client_id) decides a
    concurrent twin here, without an error that would need a savepoint); its id."""
    conn = db.session.connection()
    insert = (postgresql if is_postgres(conn) else sqlite).insert
    scans = table_of(Scan)
    scan_id = conn.execute(
        insert(scans)
        .values(
            user_id=user.id,
            client_id=client_id,
            request_hash=body_hash,
            kind=kind,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "client_id"])
        .returning(scans.c.id)
    ).scalar()
    if scan_id is None:
        raise _Twin
    return scan_id


def link_scan(scan_id: int, visit: Visit) -> None:
    """The Scan row points at the visit it made."""
    scans = table_of(Scan)
    db.session.execute(sa.update(scans).where(scans.c.id == scan_id).values(visit_id=visit.id))
