"""The audit log's hash chains, their verification and the head kept outside.

Why several chains (issue 15). Until now every audited write took one advisory lock
(`pg_advisory_xact_lock(727001)`) at its first flush and held it to commit, so on
PostgreSQL every write in the system waited for every other one: two workers checking
out at two elders' homes queued behind each other. Three designs were weighed:

- a sealer that chains committed entries afterwards: entries would sit unprotected until
  sealed, the sealer must know that no transaction can still commit a lower id, and it
  has to write a hash into rows the append-only trigger refuses to update;
- a chain per transaction linked to a sealed head: the same sealer, more rows;
- **N chains** (chosen): `audit_log.chain` (0…CHAINS-1) and an index (chain, id). A
  transaction appends to the lowest chain whose lock it gets at once
  (`pg_try_advisory_xact_lock(727001, chain)`, one statement); only when all CHAINS are
  busy does it wait, for one. Within a chain nothing changes: its lock is held to
  commit, each entry's hash covers the chain's previous entry, so the chain follows
  the ids and a changed, removed or moved entry breaks it. An entry's `chain` is not
  in its hash: moving it to another chain breaks both (its prev_hash is wrong there),
  and the head names each chain's newest entry.

The entries of a transaction are also chained at its commit (eldercare.audit collects
them as it flushes), so the chain's lock is held for three statements and the COMMIT,
not from the first write on. Uncontended writers (SQLite, the tests, a quiet night) all
append to chain 0, so a small instance keeps one chain. Entries written before this
(core_0011) are chain 0 with their hashes unchanged.

Measured (bench/README.md, "Writes that scale"; tests/eldercare/test_audit_chains.py): with
one transaction holding its chain open after its audit write, another on a different
elder commits at once; with CHAINS = 1, the old global lock, it waits for the first.

`verify_chain` walks every chain; `head_record` signs the newest entry of every chain;
`check_head` proves the log still holds each of them (a head of the single-chain format
/1 is still checked: its one entry must still be there, unchanged).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC
from typing import Any

import sqlalchemy as sa

from .database import is_postgres, utcnow
from .extensions import db
from .models.audit import AuditEntry

CHAINS = 16
CHAIN_LOCK = 727_001  # first key of pg_advisory_xact_lock(CHAIN_LOCK, chain)

_PICK = sa.text(
    "SELECT c FROM generate_series(0, :n - 1) AS c WHERE pg_try_advisory_xact_lock(:key, c) LIMIT 1"
)
_WAIT = sa.text("SELECT pg_advisory_xact_lock(:key, :chain)")


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


def pick_chain(conn: sa.Connection) -> int:
    """Lock a chain for the rest of the transaction and return it: the lowest one free
    now (or already this transaction's: the locks are re-entrant), else wait for a
    random one. SQLite has one writer at a time (BEGIN IMMEDIATE): always chain 0."""
    if not is_postgres(conn):
        return 0
    chain = conn.execute(_PICK, {"n": CHAINS, "key": CHAIN_LOCK}).scalar()
    if chain is None:
        # a random chain spreads the waiters; nothing secret hangs on it
        chain = random.randrange(CHAINS)  # noqa: S311  # nosec B311
        conn.execute(_WAIT, {"key": CHAIN_LOCK, "chain": chain})
    return int(chain)


def append(conn: sa.Connection, rows: list[dict]) -> int:
    """Append `rows` (audit entries without hashes) to a chain this transaction locks
    until it ends; returns the chain. The previous hash is read after the lock is held,
    so it is the chain's newest committed entry."""
    chain = pick_chain(conn)
    prev = conn.execute(
        sa.select(AuditEntry.hash)
        .where(AuditEntry.chain == chain)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).scalar()
    for row in rows:
        row["chain"] = chain
        row["prev_hash"] = prev
        row["hash"] = prev = entry_digest(prev, row)
    conn.execute(sa.insert(AuditEntry), rows)
    return chain


_COLS = [
    AuditEntry.id,
    AuditEntry.chain,
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


def verify_chain(batch: int = 5000) -> tuple[int, int | None]:
    """Walk every chain in id order and recompute every hash. Returns (entries checked,
    id of the first entry that does not match, or None when every chain is whole)."""
    checked, broken = 0, dict[int, int]()
    chain, last_id, prev = -1, 0, None
    while True:
        rows = (
            db.session.execute(
                sa.select(*_COLS)
                .where(
                    sa.tuple_(AuditEntry.chain, AuditEntry.id)
                    > sa.tuple_(sa.literal(chain), sa.literal(last_id))
                )
                .order_by(AuditEntry.chain, AuditEntry.id)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            return checked, min(broken.values()) if broken else None
        for row in rows:
            if row["chain"] != chain:  # the next chain begins
                chain, prev = row["chain"], None
            last_id = row["id"]
            if chain in broken:
                continue  # this chain broke already: on to the next
            if row["prev_hash"] != prev or row["hash"] != entry_digest(prev, dict(row)):
                broken[chain] = row["id"]
            else:
                checked += 1
                prev = row["hash"]


# --- the head kept outside ---------------------------------------------------------------
# A chain shows a changed or removed entry in its middle, but not its newest entries cut
# off, nor a log rewritten and rehashed whole by someone who can write the database.
# `eldercare audit head` prints the newest entry of every chain signed with a key that is
# not in the database (crypto.audit_key); kept outside (a printout, another machine's
# log, a mail to the auditor), it lets `eldercare audit verify --head FILE` prove that
# the log still holds those entries unchanged, and so everything before them.

HEAD_FORMAT = "eldercare-audit-head/2"
HEAD_FORMAT_V1 = "eldercare-audit-head/1"  # one chain: heads kept before core_0011


def _head_mac(
    key: bytes,
    fmt: str,
    entry_id: int,
    entry_hash: str | None,
    chains: dict[str, dict] | None = None,
) -> str:
    message = f"{fmt}\n{entry_id}\n{entry_hash or ''}"
    chains = chains or {}
    for chain in sorted(chains, key=int):
        message += f"\n{int(chain)}:{int(chains[chain]['id'])}:{chains[chain]['hash'] or ''}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def chain_heads(conn: sa.Connection | None = None) -> dict[str, dict]:
    """{chain (as text): {"id", "hash"}} of the newest entry of every chain."""
    conn = conn or db.session.connection()
    newest = sa.select(sa.func.max(AuditEntry.id)).group_by(AuditEntry.chain).scalar_subquery()
    rows = conn.execute(
        sa.select(AuditEntry.chain, AuditEntry.id, AuditEntry.hash)
        .where(AuditEntry.id.in_(newest))
        .order_by(AuditEntry.chain)
    )
    return {str(r.chain): {"id": r.id, "hash": r.hash} for r in rows}


def head_record(key: bytes) -> dict:
    """The log's head to keep outside: the newest entry's id, hash and time, the newest
    entry of every chain, when it was taken, which key signed it, and the HMAC of all of
    them under that key (id 0 and no hash for an empty log)."""
    from .crypto import key_id

    row = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.hash, AuditEntry.at)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    entry_id, entry_hash, at = (row.id, row.hash, row.at) if row else (0, None, None)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    chains = chain_heads()
    return {
        "format": HEAD_FORMAT,
        "id": entry_id,
        "hash": entry_hash,
        "at": at.isoformat() if at else None,
        "taken_at": utcnow().isoformat(),
        "key_id": key_id(key),
        "chains": chains,
        "hmac": _head_mac(key, HEAD_FORMAT, entry_id, entry_hash, chains),
    }


class HeadMismatch(Exception):
    """The log no longer reaches the kept head; the message says how."""


def _parse_head(record: Any) -> tuple[str, int, str | None, dict[str, dict], str]:
    try:
        fmt = record.get("format")
        if fmt not in (HEAD_FORMAT, HEAD_FORMAT_V1):
            raise ValueError
        entry_id, entry_hash = int(record["id"]), record["hash"]
        chains = dict(record["chains"]) if fmt == HEAD_FORMAT else {}
        for chain, head in chains.items():
            int(chain), int(head["id"])
        return fmt, entry_id, entry_hash, chains, str(record["hmac"])
    except (AttributeError, KeyError, TypeError, ValueError):
        raise HeadMismatch(f"not an audit head ({HEAD_FORMAT})") from None


def check_head(record: dict, key: bytes) -> int:
    """Check that the log still holds the kept head's entries (the newest of every chain,
    and the newest of all) with the same hashes. Returns the head's id. Raises
    HeadMismatch when the record is not a head, its HMAC does not verify under `key`
    (forged, or made with another key), an entry is gone (the newest entries of a chain
    were cut off), or its hash or chain differs (rewritten and rehashed). Call it after
    verify_chain: whole chains that still reach the head hold every entry before it."""
    from .crypto import key_id

    fmt, entry_id, entry_hash, chains, mac = _parse_head(record)
    if not hmac.compare_digest(mac, _head_mac(key, fmt, entry_id, entry_hash, chains)):
        theirs = record.get("key_id")
        raise HeadMismatch(
            "the head's signature does not verify: it was altered, or signed with another "
            f"audit key (the head's key {theirs}, this instance's {key_id(key)})"
        )
    if entry_id == 0:
        return 0
    kept: list[tuple[int, int | None, str | None]] = [
        (int(h["id"]), int(c), h["hash"]) for c, h in chains.items()
    ]
    kept.append((entry_id, None, entry_hash))
    for kept_id, chain, kept_hash in sorted(kept, key=lambda k: -k[0]):  # newest first
        stored = db.session.execute(
            sa.select(AuditEntry.hash, AuditEntry.chain).where(AuditEntry.id == kept_id)
        ).first()
        if stored is None:
            newest = db.session.scalar(sa.select(sa.func.max(AuditEntry.id)))
            raise HeadMismatch(
                f"entry {kept_id} of the kept head is gone (the log ends at {newest}): "
                "entries were cut off"
            )
        if stored.hash != kept_hash or chain not in (None, stored.chain):
            raise HeadMismatch(
                f"entry {kept_id} no longer has the kept head's hash: the log was rewritten"
                + _lifted_note(kept_id)
            )
    return entry_id


LIFTED = "append_only_lifted"


def _lifted_note(after: int) -> str:
    """Where a migration lifted the append-only rule after the head was kept, say so."""
    note = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.username)
        .where(AuditEntry.id > after, AuditEntry.action == LIFTED)
        .order_by(AuditEntry.id)
        .limit(1)
    ).first()
    if note is None:
        return ""
    return f" (entry {note.id}: {note.username} lifted the append-only rule to rewrite it)"
