"""The subsidy ledger (补贴账户): the one module that writes an enrolment's balance.

Every change is a conditional, relative UPDATE checked by its row count, with its
append-only ledger entry in the same transaction (ENGINEERING.md); UNIQUE(enrolment,
visit, kind) on the entries, and one allocation per enrolment, make each visit's debit,
reversal and expiry, and each year's subsidy, happen once. The CHECK (balance >= 0) is
the last line behind them. Functions flush and never commit; the caller audits what it
did with the money (the entries themselves are audited as ORM rows, or in bulk by the
new-year job's one entry).

    allocate / allocate_many   the year's subsidy credited to new enrolments
    debit                      a visit's subsidised part taken (never more than is left)
    debit_many                 many visits' debits at once, each wholly covered (the demo)
    credit                     a visit's debit given back (expired if the year has turned)
    expire_many                what was left of a year, at its end
    move                       the whole balance to the next provider's enrolment, once
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import fen, from_fen, rowcount, to_money, utcnow
from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.timeutil import local_today

from .models import EntryKind, LedgerEntry

BATCH = 5000  # enrolments per bulk statement (SQLite's bound parameters are limited)

# The stored column is whole fen: these statements work on it directly (no Money type in
# between), exactly as ENGINEERING.md measured them.
_BALANCE_FEN = sa.text("SELECT balance FROM enrolments WHERE id = :id")
_ADD_FEN = sa.text("UPDATE enrolments SET balance = balance + :fen WHERE id = :id")
_DEBIT_FEN = sa.text(
    "UPDATE enrolments SET balance = balance - :fen WHERE id = :id AND balance >= :fen"
)
# Expire exactly what was read: a debit that slipped in between makes it touch no row.
_EXPIRE_FEN = sa.text(
    "UPDATE enrolments SET balance = balance - :fen WHERE id = :id AND balance = :fen"
)

REVERSED = "reversed"  # the money is back in the balance of its year
EXPIRED = "expired"  # the year had turned: given back and expired at once

# Credit only while the enrolment's year is the current one: an old year's balance has
# expired (or will, on 1 January), and money given back to it could never be spent.
_CREDIT_FEN = sa.text(
    "UPDATE enrolments SET balance = balance + :fen WHERE id = :id AND year >= :year"
)


# The successor of a transferred enrolment (enrolments.transferred_from_id is unique).
_SUCCESSOR = sa.text("SELECT id FROM enrolments WHERE transferred_from_id = :id")


def chain_of(enrolment_id: int) -> list[int]:
    """`enrolment_id` and the enrolments its balance was moved to, in order (a change of
    provider mid-year): the last holds the money now."""
    chain = [enrolment_id]
    for _hop in range(20):
        nxt = db.session.execute(_SUCCESSOR, {"id": chain[-1]}).scalar()
        if nxt is None:
            break
        chain.append(nxt)
    return chain


def credit(
    enrolment_id: int, visit_id: int, amount: Decimal, note: str, at: datetime | None = None
) -> str | None:
    """Give a visit's debit back to the elder's ledger, once: a `reversal` entry (UNIQUE
    (enrolment, visit, kind) refuses a concurrent twin at the flush) and the balance
    raised by a relative update. If the enrolment's year has turned, the balance is left
    alone and an `expiry` entry of the same amount beside the reversal says the money
    came back too late to be spent. Returns REVERSED, EXPIRED, or None when there was
    nothing to give back (a self-paid visit, or given back before). Changes: the
    enrolment's balance, two or one ledger entries; audited."""
    amount = to_money(amount)
    # After a change of provider the money lives on in the next enrolment: it goes back
    # there, where it can still be spent (and once, wherever it went back before).
    chain = chain_of(enrolment_id)
    if amount <= 0 or db.session.scalar(
        sa.select(LedgerEntry.id).where(
            LedgerEntry.enrolment_id.in_(chain),
            LedgerEntry.visit_id == visit_id,
            LedgerEntry.kind == EntryKind.REVERSAL,
        )
    ):
        return None
    enrolment_id = chain[-1]
    at = at or utcnow()
    db.session.add(
        LedgerEntry(
            enrolment_id=enrolment_id,
            kind=EntryKind.REVERSAL,
            amount=amount,
            visit_id=visit_id,
            at=at,
            note=note,
        )
    )
    db.session.flush()
    done = db.session.execute(
        _CREDIT_FEN, {"fen": fen(amount), "id": enrolment_id, "year": local_today().year}
    )
    outcome = REVERSED if rowcount(done) == 1 else EXPIRED
    if outcome == EXPIRED:
        db.session.add(
            LedgerEntry(
                enrolment_id=enrolment_id,
                kind=EntryKind.EXPIRY,
                amount=-amount,
                visit_id=visit_id,
                at=at,
                note="该年度已结束，退回的补贴随之作废",
            )
        )
        db.session.flush()
    audit.record(
        "ledger_reversal",
        "enrolments",
        enrolment_id,
        {"visit_id": visit_id, "amount": str(amount), "ledger": outcome},
    )
    return outcome


def allocate(enrolment_id: int, amount: Decimal, at: datetime, note: str) -> Decimal:
    """Credit a new enrolment with its year's subsidy: an `allocation` entry (one per
    enrolment: a partial unique index refuses a second at the flush) and the balance
    raised by a relative update that must touch the enrolment's row. Raises Conflict if
    it does not (no such enrolment). Changes: the balance, one ledger entry."""
    amount = to_money(amount)
    db.session.add(
        LedgerEntry(
            enrolment_id=enrolment_id, kind=EntryKind.ALLOCATION, amount=amount, at=at, note=note
        )
    )
    db.session.flush()
    if rowcount(db.session.execute(_ADD_FEN, {"fen": fen(amount), "id": enrolment_id})) != 1:
        raise Conflict(_l("补贴账户不存在"), code="no_enrolment")
    return amount


def _in_batches(rows: Sequence, statement, params) -> int:
    done = 0
    for start in range(0, len(rows), BATCH):
        batch = [params(r) for r in rows[start : start + BATCH]]
        done += rowcount(db.session.execute(statement, batch))
    return done


#: How the bulk forms write their entries: `insert(LedgerEntry, rows)`. By default
#: SQLAlchemy's executemany, BATCH rows a statement; the demo passes its bulk loader
#: (eldercare.bulk.insert_rows: COPY on PostgreSQL).
BulkInsert = Callable[[type, list[dict]], None]


def _insert_entries(rows: list[dict], insert: BulkInsert | None) -> None:
    if insert is not None:
        insert(LedgerEntry, rows)
        return
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(LedgerEntry), rows[start : start + BATCH])


def allocate_many(
    enrolment_ids: Sequence[int],
    amount: Decimal,
    at: datetime,
    note: str,
    insert: BulkInsert | None = None,
) -> None:
    """`allocate` for many new enrolments at once (the new-year job: 11,000 elders), in
    bulk statements. Raises Conflict, and so undoes the lot, unless every balance was
    raised. Changes: the balances, one entry each."""
    amount = to_money(amount)
    _insert_entries(
        [
            {
                "enrolment_id": eid,
                "kind": EntryKind.ALLOCATION.value,
                "amount": amount,
                "visit_id": None,
                "at": at,
                "note": note,
            }
            for eid in enrolment_ids
        ],
        insert,
    )
    raised = _in_batches(enrolment_ids, _ADD_FEN, lambda eid: {"fen": fen(amount), "id": eid})
    if raised != len(enrolment_ids):
        raise Conflict(_l("补贴账户不存在"), code="no_enrolment")


def debit(enrolment_id: int, visit_id: int | None, amount: Decimal, at: datetime) -> Decimal:
    """Take up to `amount` from the enrolment's balance for a visit; returns what was taken
    (what was left, if less). The ledger entry joins the same transaction.

    The UPDATE is relative and conditional (`balance >= :fen`), checked by its row
    count: a concurrent debit that got there first makes it touch no row, and the loop
    reads the new balance and tries again. Nothing here can make a balance negative.
    Raises Conflict (`busy`) if the balance keeps changing under it."""
    want = fen(amount)
    for _attempt in range(50):
        balance = db.session.execute(_BALANCE_FEN, {"id": enrolment_id}).scalar_one()
        take = min(want, int(balance))
        if take <= 0:
            return Decimal("0.00")
        result = db.session.execute(_DEBIT_FEN, {"id": enrolment_id, "fen": take})
        if rowcount(result) == 1:
            taken = from_fen(take)
            db.session.add(
                LedgerEntry(
                    enrolment_id=enrolment_id,
                    kind=EntryKind.VISIT_DEBIT,
                    amount=-taken,
                    visit_id=visit_id,
                    at=at,
                )
            )
            db.session.flush()
            return taken
    raise Conflict(_l("账户余额变动频繁，请重试"), code="busy")


def debit_many(
    debits: Sequence[tuple[int, int, Decimal, datetime]], insert: BulkInsert | None = None
) -> None:
    """Many visits' debits at once, each of (enrolment id, visit id, amount, at) taken
    whole (the demo's year of visits, priced and capped by their balances beforehand):
    a `visit_debit` entry each, and per enrolment one relative update conditional on the
    balance covering the enrolment's total, in bulk statements. Raises Conflict, and so
    undoes the lot, unless every balance covered its debits. Changes: the balances, one
    entry each."""
    rows = [
        (eid, vid, to_money(amount), at) for eid, vid, amount, at in debits if to_money(amount) > 0
    ]
    _insert_entries(
        [
            {
                "enrolment_id": eid,
                "kind": EntryKind.VISIT_DEBIT.value,
                "amount": -amount,
                "visit_id": vid,
                "at": at,
                "note": "",
            }
            for eid, vid, amount, at in rows
        ],
        insert,
    )
    owed: dict[int, int] = {}
    for eid, _vid, amount, _at in rows:
        owed[eid] = owed.get(eid, 0) + fen(amount)
    totals = list(owed.items())
    done = _in_batches(totals, _DEBIT_FEN, lambda r: {"id": r[0], "fen": r[1]})
    if done != len(totals):
        raise Conflict("补贴余额不足以支付这些服务", code="insufficient_balance")


def expire_many(balances: Sequence[tuple[int, int]], at: datetime, note: str) -> Decimal:
    """What is left of a year's subsidy expires: for each (enrolment id, balance in fen
    as read), an `expiry` entry and the balance taken to zero by an update conditional
    on it being exactly what was read. Raises Conflict (`busy`), undoing the lot, if any
    balance moved in between. Returns the total expired. Changes: the balances, one
    entry each."""
    rows = [(eid, int(left)) for eid, left in balances if int(left) > 0]
    for start in range(0, len(rows), BATCH):
        db.session.execute(
            sa.insert(LedgerEntry),
            [
                {
                    "enrolment_id": eid,
                    "kind": EntryKind.EXPIRY.value,
                    "amount": -from_fen(left),
                    "visit_id": None,
                    "at": at,
                    "note": note,
                }
                for eid, left in rows[start : start + BATCH]
            ],
        )
    done = _in_batches(rows, _EXPIRE_FEN, lambda r: {"id": r[0], "fen": r[1]})
    if done != len(rows):  # an expiry entry without its expiry: undo all
        raise Conflict(_l("上年度余额在结转时发生变动，请重新执行"), code="busy")
    return sum((from_fen(left) for _eid, left in rows), Decimal("0.00"))


def move(from_id: int, to_id: int, at: datetime, note: str) -> Decimal:
    """Move the whole balance of enrolment `from_id` to `to_id` (a change of provider
    mid-year): a `transfer_out` entry on the one, a `transfer_in` on the other (each at
    most once per enrolment: partial unique indexes refuse a second at the flush), and two
    relative updates checked by their row counts: the first conditional on the balance
    being exactly what was read, so that a debit slipping in between makes it touch no row
    and the read is tried again. Returns what was moved (nothing to move: 0.00, no
    entries). Raises Conflict (`busy`) if the balance keeps changing, (`no_enrolment`) if
    the receiving enrolment is missing. Changes: both balances, two ledger entries."""
    for _attempt in range(50):
        left = int(db.session.execute(_BALANCE_FEN, {"id": from_id}).scalar_one())
        if left <= 0:
            return Decimal("0.00")
        if rowcount(db.session.execute(_EXPIRE_FEN, {"id": from_id, "fen": left})) == 1:
            break
    else:
        raise Conflict(_l("账户余额变动频繁，请重试"), code="busy")
    amount = from_fen(left)
    db.session.add_all(
        [
            LedgerEntry(
                enrolment_id=from_id, kind=EntryKind.TRANSFER_OUT, amount=-amount, at=at, note=note
            ),
            LedgerEntry(
                enrolment_id=to_id, kind=EntryKind.TRANSFER_IN, amount=amount, at=at, note=note
            ),
        ]
    )
    db.session.flush()
    if rowcount(db.session.execute(_ADD_FEN, {"fen": left, "id": to_id})) != 1:
        raise Conflict(_l("补贴账户不存在"), code="no_enrolment")
    return amount
