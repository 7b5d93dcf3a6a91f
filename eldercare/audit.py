"""The audit log: every change to a record, written in the same transaction as the change.

A session listener diffs every flushed object (new, changed, deleted) of every model
that does not opt out with `__audit__ = False`, so no service can forget it. Reads of
full ID numbers are recorded explicitly with `record()`.
"""

from __future__ import annotations

import contextvars
import enum
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .crypto import EncryptedString, redact
from .database import is_postgres, utcnow
from .extensions import db
from .models.audit import AuditEntry

SECRET_FIELDS = {"password_hash", "failed_logins", "locked_until", "last_login_at", "totp_secret",
                 # blind indexes: stable stand-ins for an ID number, of no use to a reader
                 "id_number_hash", "id_tail_hash"}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    ip: str | None = None


current_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar(
    "current_actor",
    default=Actor(None, "system"),  # noqa: B039 — Actor is a frozen dataclass
)


def set_actor(actor: Actor) -> contextvars.Token:
    return current_actor.set(actor)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# Columns the log keeps only the year of: beside the masked ID number (510704********3039)
# a full birth date would fill its eight stars, so "1946-**-**" is kept instead.
YEAR_ONLY_FIELDS = {"birth_date"}


def _year_only(value: Any) -> Any:
    text = _plain(value)
    if isinstance(text, str) and len(text) >= 4 and text[:4].isdigit():
        return text[:4] + "-**-**"
    return text


def shown(column: sa.Column, value: Any) -> Any:
    """A column's value as the log keeps it: an encrypted one (a full ID number, health
    notes) only redacted, so the log never holds what the table keeps encrypted; a birth
    date only its year, so that nothing refills a masked number."""
    if isinstance(column.type, EncryptedString):
        return redact(column.type.kind, value)
    if column.name in YEAR_ONLY_FIELDS:
        return _year_only(value)
    return _plain(value)


def _entity_name(obj: Any) -> str:
    return obj.__tablename__


def _pk(obj: Any) -> str | None:
    state = inspect(obj)
    # a row just inserted has its key in its columns but no identity until the flush
    # ends (after_flush): read the key from the columns, so a create names its row
    ident = state.identity or state.mapper.primary_key_from_instance(obj)
    if not ident or any(i is None for i in ident):
        return None
    return ":".join(str(i) for i in ident)


def _columns(obj: Any):
    return [c for c in inspect(obj).mapper.column_attrs if c.key not in SECRET_FIELDS]


def _snapshot(obj: Any) -> dict[str, Any]:
    return {c.key: shown(c.columns[0], getattr(obj, c.key)) for c in _columns(obj)}


def _diff(obj: Any) -> dict[str, list[Any]]:
    state = inspect(obj)
    out: dict[str, list[Any]] = {}
    for c in _columns(obj):
        hist = state.attrs[c.key].history
        if hist.has_changes():
            before = _plain(hist.deleted[0]) if hist.deleted else None
            after = _plain(hist.added[0]) if hist.added else None
            if before != after:
                col = c.columns[0]
                out[c.key] = [shown(col, before), shown(col, after)]
    return out


def _audited(obj: Any) -> bool:
    return getattr(type(obj), "__audit__", True)


def _row(action: str, entity: str, entity_id: str | None, changes: dict) -> dict:
    actor = current_actor.get()
    return {
        "at": utcnow(),
        "user_id": actor.user_id,
        "username": actor.username[:64],  # the column's width ("cli:restore /a/long/path")
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "changes": changes,
        "ip": actor.ip,
    }


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx, _instances) -> None:
    # Diffs must be taken before the flush clears the history of changed objects,
    # deletions before the rows are gone.
    pending = session.info.setdefault("audit_pending", [])
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            changes = _diff(obj)
            if changes:
                pending.append(("update", obj, changes))
    for obj in session.deleted:
        if _audited(obj):
            pending.append(("delete", obj, _snapshot(obj)))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx) -> None:
    rows = []
    for obj in session.new:
        if _audited(obj):
            rows.append(_row("create", _entity_name(obj), _pk(obj), _snapshot(obj)))
    for action, obj, changes in session.info.pop("audit_pending", []):
        rows.append(_row(action, _entity_name(obj), _pk(obj), changes))
    if rows:
        _insert_chained(session, rows)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("audit_pending", None)


CHAIN_LOCK = 727_001  # pg_advisory_xact_lock key of the audit chain


def entry_digest(prev_hash: str | None, row: dict) -> str:
    """The hash of one entry: the previous hash and the entry's content, canonically."""
    at = row["at"]
    if at.tzinfo is None:  # SQLite hands back naive UTC
        at = at.replace(tzinfo=UTC)
    body = json.dumps(
        [
            prev_hash or "",
            at.astimezone(UTC).isoformat(),
            row["user_id"],
            row["username"],
            row["action"],
            row["entity"],
            row["entity_id"],
            row["changes"],
            row["ip"],
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def lock_chain(session: Session | None = None) -> None:
    """Take the audit chain's lock for the rest of the transaction (PostgreSQL; on SQLite
    BEGIN IMMEDIATE holds it already). Every audited write takes it, at its first
    flush; a transaction that locks rows first and writes its audit entries later (a
    bulk job) must take it before the rows, in the order requests take them, or a
    request holding the chain and waiting for one of those rows deadlocks with it."""
    conn = (session or db.session()).connection()
    if is_postgres(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})


def _insert_chained(session: Session, rows: list[dict]) -> None:
    """Append rows to the hash chain. On PostgreSQL a transaction-scoped advisory lock
    keeps writers in line until commit, so the chain follows the ids; on SQLite the
    write lock taken at BEGIN IMMEDIATE does the same."""
    conn = session.connection()
    lock_chain(session)
    prev = conn.execute(sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = entry_digest(prev, row)
    conn.execute(sa.insert(AuditEntry), rows)


def verify_chain(batch: int = 5000) -> tuple[int, int | None]:
    """Walk the log in id order and recompute every hash. Returns (entries checked, id of
    the first entry that does not match, or None when the chain is whole)."""
    prev, checked, last_id = None, 0, 0
    cols = [
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.user_id,
        AuditEntry.username,
        AuditEntry.action,
        AuditEntry.entity,
        AuditEntry.entity_id,
        AuditEntry.changes,
        AuditEntry.ip,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    ]
    while True:
        rows = (
            db.session.execute(
                sa.select(*cols).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            return checked, None
        for row in rows:
            if row["prev_hash"] != prev or row["hash"] != entry_digest(prev, dict(row)):
                return checked, row["id"]
            prev, last_id = row["hash"], row["id"]
            checked += 1


def record(action: str, entity: str, entity_id: Any, changes: dict | None = None) -> None:
    """Write one audit entry for something no column change shows (a read of a full ID
    number, a login, a decision). Joins the current transaction; never commits."""
    _insert_chained(
        db.session(),
        [_row(action, entity, None if entity_id is None else str(entity_id), changes or {})],
    )


# --- the head kept outside ---------------------------------------------------------------
# The chain shows a changed or removed entry in its middle, but not the newest entries cut
# off, nor a chain rewritten and rehashed whole by someone who can write the database.
# `eldercare audit head` prints the newest entry's id and hash signed with a key that is
# not in the database (crypto.audit_key); kept outside (a printout, another machine's
# log, a mail to the auditor), it lets `eldercare audit verify --head FILE` prove that
# the log still holds that entry unchanged, and so everything before it.

HEAD_FORMAT = "eldercare-audit-head/1"


def _head_mac(key: bytes, entry_id: int, entry_hash: str | None) -> str:
    message = f"{HEAD_FORMAT}\n{entry_id}\n{entry_hash or ''}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_record(key: bytes) -> dict:
    """The chain's head to keep outside: the newest entry's id, hash and time, when it
    was taken, which key signed it, and the HMAC of id and hash under that key (id 0
    and no hash for an empty log)."""
    from .crypto import key_id

    row = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.hash, AuditEntry.at)
        .order_by(AuditEntry.id.desc()).limit(1)).first()
    entry_id, entry_hash, at = (row.id, row.hash, row.at) if row else (0, None, None)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return {"format": HEAD_FORMAT, "id": entry_id, "hash": entry_hash,
            "at": at.isoformat() if at else None, "taken_at": utcnow().isoformat(),
            "key_id": key_id(key), "hmac": _head_mac(key, entry_id, entry_hash)}


class HeadMismatch(Exception):
    """The log no longer reaches the kept head; the message says how."""


def check_head(record: dict, key: bytes) -> int:
    """Check that the log still holds the kept head's entry with the same hash. Returns
    the head's id. Raises HeadMismatch when the record is not a head, its HMAC does not
    verify under `key` (forged, or made with another key), the entry is gone (the newest
    entries were cut off), or its hash differs (rewritten and rehashed). Call it after
    verify_chain: a whole chain that still reaches the head holds every entry before it
    as it was."""
    from .crypto import key_id

    try:
        if record.get("format") != HEAD_FORMAT:
            raise ValueError
        entry_id, entry_hash = int(record["id"]), record["hash"]
        mac = str(record["hmac"])
    except (AttributeError, KeyError, TypeError, ValueError):
        raise HeadMismatch(f"not an audit head ({HEAD_FORMAT})") from None
    if not hmac.compare_digest(mac, _head_mac(key, entry_id, entry_hash)):
        theirs = record.get("key_id")
        raise HeadMismatch(
            "the head's signature does not verify: it was altered, or signed with another "
            f"audit key (the head's key {theirs}, this instance's {key_id(key)})")
    if entry_id == 0:
        return 0
    stored = db.session.execute(
        sa.select(AuditEntry.hash).where(AuditEntry.id == entry_id)).first()
    if stored is None:
        newest = db.session.scalar(sa.select(sa.func.max(AuditEntry.id)))
        raise HeadMismatch(
            f"entry {entry_id} of the kept head is gone (the log ends at {newest}): "
            "entries were cut off")
    if stored.hash != entry_hash:
        raise HeadMismatch(
            f"entry {entry_id} no longer has the kept head's hash: the log was rewritten"
            + _lifted_note(entry_id))
    return entry_id


def _lifted_note(after: int) -> str:
    """Where a migration lifted the append-only rule after the head was kept, say so."""
    note = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.username).where(
            AuditEntry.id > after, AuditEntry.action == LIFTED)
        .order_by(AuditEntry.id).limit(1)).first()
    if note is None:
        return ""
    return f" (entry {note.id}: {note.username} lifted the append-only rule to rewrite it)"


# --- rewriting the log: a migration's redaction -------------------------------------------

LIFTED = "append_only_lifted"
TRIGGER = "audit_log_append_only"  # core_0008


@contextmanager
def append_only_lifted(conn: sa.Connection, by: str, why: str) -> Iterator[None]:
    """Let a migration rewrite the log (a redaction, as core_0006 masked the ID numbers)
    on a connection it owns the tables through, inside its own transaction.

    On PostgreSQL the core_0008 trigger refuses UPDATE and DELETE on audit_log for
    everyone; this disables it with ALTER TABLE (which holds audit_log's exclusive lock
    until the commit, so nobody appends in between), runs the body, and enables it again
    before the transaction ends; a failure rolls the ALTER back with everything else. At
    the end an entry (action "append_only_lifted", username `by`) records who lifted it,
    why, and the head's hash before, so that `audit verify --head` with an older head
    names the migration. The body rehashes what it rewrote (see core_0006's
    _redact_audit_log); take and keep a new head afterwards. Never used by the app."""
    before = conn.execute(
        sa.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    postgres = is_postgres(conn)
    if postgres:
        conn.execute(sa.text(f"ALTER TABLE audit_log DISABLE TRIGGER {TRIGGER}"))
    yield
    if postgres:
        conn.execute(sa.text(f"ALTER TABLE audit_log ENABLE TRIGGER {TRIGGER}"))
    prev = conn.execute(
        sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    row = {"at": utcnow(), "user_id": None, "username": by[:64], "action": LIFTED,
           "entity": "audit_log", "entity_id": None, "ip": None,
           "changes": {"why": why, "head_before": {"id": before.id, "hash": before.hash}
                       if before else None}}
    row["prev_hash"] = prev
    row["hash"] = entry_digest(prev, row)
    conn.execute(sa.insert(AuditEntry), [row])
