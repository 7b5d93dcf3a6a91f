"""A scan counts once (ENGINEERING.md): the Scan row of (user, client_id) is claimed first
thing, before a scan's or a hand-logged visit's work, in the same transaction as its
effect, so a repeat (or a twin sent at the same moment) finds it taken and changes
nothing, whichever page or endpoint sent it."""

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
    False; else `work()` (scan or manual_visit) and True. The Scan row is claimed first,
    before anything is read or written (`INSERT … ON CONFLICT DO NOTHING`: one statement
    where a look-up and then the insert were two, issue 15): a new client_id gets its
    row and the work runs; a known one, or a twin sent at the same moment that got there
    first (on PostgreSQL the claim waits for the twin's commit), leaves it without a
    row, and the earlier visit is answered. Without a client_id, work() simply runs.
    Raises Conflict (client_id_reused: the same client_id with another body) and what
    work() raises, after which the caller rolls back (the claim with the rest). Flushes,
    never commits."""
    if not client_id:
        return work(), True
    body_hash = request_hash(raw)
    try:
        scan_id = claim_scan(user, client_id, body_hash, _kind_of(raw))
    except _Twin:
        earlier = replay(user, client_id, body_hash)
        if earlier is None:  # the row without its visit: not one of ours
            raise Conflict(_l("该 client_id 已用于另一次扫码"), code="client_id_reused") from None
        return earlier, False
    claims = db.session.info.setdefault(_CLAIMED, {})
    claims[(user.id, client_id)] = scan_id
    try:
        return work(), True
    finally:
        claims.pop((user.id, client_id), None)


class _Twin(Exception):
    """The Scan row of this (user, client_id) is there already: a twin request's."""


#: session.info key: {(user id, client_id): Scan row id} that `once` claimed for the work
_CLAIMED = "homecare_scan_claims"


def _kind_of(raw: dict) -> ScanKind:
    """A scan's body names its kind; a hand-logged visit's does not."""
    kind = raw.get("kind")
    return ScanKind(kind) if kind in ("check_in", "check_out") else ScanKind.MANUAL


def claim_scan(user: User, client_id: str, body_hash: str, kind: ScanKind) -> int:
    """The Scan row, first thing in a scan's work (UNIQUE(user_id, client_id) decides a
    concurrent twin here, without an error that would need a savepoint); its id. Under
    `once`, the row it claimed already."""
    claimed = db.session.info.get(_CLAIMED, {}).pop((user.id, client_id), None)
    if claimed is not None:
        return claimed
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
