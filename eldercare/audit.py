"""The audit log: every change to a record, written in the same transaction as the change.

A session listener diffs every flushed object (new, changed, deleted) of every model
that does not opt out with `__audit__ = False`, so no service can forget it. Reads of
full ID numbers are recorded explicitly with `record()`.

The entries of a transaction are collected as it flushes and appended to a hash chain in
one INSERT just before its COMMIT (a savepoint rolled back drops its own); the chains,
why there are several, their verification and the head kept outside are in
eldercare/audit_chain.py (issue 15: no global lock on every write).
"""

from __future__ import annotations

import contextvars
import enum
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .audit_chain import (  # noqa: F401 — the log's interface stays eldercare.audit
    CHAIN_LOCK,
    CHAINS,
    HEAD_FORMAT,
    LIFTED,
    HeadMismatch,
    append,
    chain_heads,
    check_head,
    entry_digest,
    head_record,
    pick_chain,
    verify_chain,
)
from .crypto import EncryptedString, redact
from .database import is_postgres, utcnow
from .extensions import db
from .models.audit import AuditEntry

log = logging.getLogger(__name__)

SECRET_FIELDS = {
    "password_hash",
    "failed_logins",
    "locked_until",
    "last_login_at",
    "totp_secret",
    # blind indexes: stable stand-ins for an ID number, of no use to a reader
    "id_number_hash",
    "id_tail_hash",
}


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
        _defer(session, rows)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("audit_pending", None)
    savepoint = session.get_nested_transaction()  # the one rolled back, if any
    rows = session.info.get("audit_rows")
    if savepoint is None:
        session.info.pop("audit_rows", None)
    elif rows is not None:
        del rows[session.info.get("audit_marks", {}).get(savepoint, 0) :]


def lock_chain(session: Session | None = None) -> int:
    """Lock an audit chain for the rest of the transaction now and return it (PostgreSQL;
    on SQLite BEGIN IMMEDIATE holds the one writer's lock already). The entries are
    appended at commit, to the lowest chain whose lock the transaction gets at once, which
    is this one or another it holds; a bulk job that locks many rows takes it first so
    that its commit never waits for a chain while holding them."""
    return pick_chain((session or db.session()).connection())


def _insert_chained(session: Session, rows: list[dict]) -> None:
    """Append rows to a hash chain now (bulk writers: an import's thousands of entries);
    the listener's and record()'s entries wait for the commit instead."""
    append(session.connection(), rows)


def _defer(session: Session, rows: list[dict]) -> None:
    session.info.setdefault("audit_rows", []).extend(rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """Chain what the transaction wrote, once, as late as possible: the chain's lock is
    then held for one INSERT and the COMMIT. A savepoint's release waits for the root."""
    if session.get_nested_transaction() is None:
        write_pending(session)


def write_pending(session: Session) -> int | None:
    """Flush and chain the transaction's entries now; returns the chain (None when there
    were none). The commit does this; a test may hold a transaction open after it."""
    session.flush()  # the commit's own flush comes after before_commit
    rows = session.info.pop("audit_rows", None)
    return append(session.connection(), rows) if rows else None


@event.listens_for(Session, "after_transaction_create")
def _after_transaction_create(session: Session, transaction) -> None:
    if transaction.nested:  # where a rollback of this savepoint cuts the entries back to
        marks = session.info.setdefault("audit_marks", {})
        marks[transaction] = len(session.info.get("audit_rows", ()))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is None and session.info.get("audit_rows"):
        log.error(
            "audit entries left unchained: the transaction was committed while a "
            "savepoint was still open"
        )


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("audit_rows", None)
        session.info.pop("audit_marks", None)
    else:
        session.info.get("audit_marks", {}).pop(transaction, None)


def record(action: str, entity: str, entity_id: Any, changes: dict | None = None) -> None:
    """Write one audit entry for something no column change shows (a read of a full ID
    number, a login, a decision). Joins the current transaction (chained at its commit,
    gone with its rollback); never commits."""
    _defer(
        db.session(),
        [_row(action, entity, None if entity_id is None else str(entity_id), changes or {})],
    )


# --- rewriting the log: a migration's redaction -------------------------------------------

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
    chains = chain_heads(conn)
    postgres = is_postgres(conn)
    if postgres:
        conn.execute(sa.text(f"ALTER TABLE audit_log DISABLE TRIGGER {TRIGGER}"))
    yield
    if postgres:
        conn.execute(sa.text(f"ALTER TABLE audit_log ENABLE TRIGGER {TRIGGER}"))
    head_before = {"id": before.id, "hash": before.hash, "chains": chains} if before else None
    append(
        conn,
        [
            {
                "at": utcnow(),
                "user_id": None,
                "username": by[:64],
                "action": LIFTED,
                "entity": "audit_log",
                "entity_id": None,
                "ip": None,
                "changes": {"why": why, "head_before": head_before},
            }
        ],
    )
