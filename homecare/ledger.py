"""The subsidy ledger (补贴账户): the one module that writes an enrolment's balance.

Every change is a conditional, relative UPDATE checked by its row count, with its
append-only ledger entry in the same transaction (ENGINEERING.md), and UNIQUE(enrolment,
visit, kind) on the entries makes each visit's debit, reversal and expiry happen once.
Functions flush and never commit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from eldercare import audit
from eldercare.database import fen, to_money, utcnow
from eldercare.extensions import db
from eldercare.timeutil import local_today

from .models import EntryKind, LedgerEntry

REVERSED = "reversed"  # the money is back in the balance of its year
EXPIRED = "expired"  # the year had turned: given back and expired at once

# Credit only while the enrolment's year is the current one: an old year's balance has
# expired (or will, on 1 January), and money given back to it could never be spent.
_CREDIT_FEN = sa.text(
    "UPDATE enrolments SET balance = balance + :fen WHERE id = :id AND year >= :year")


def _entry(enrolment_id: int, visit_id: int | None, kind: EntryKind) -> int | None:
    return db.session.scalar(sa.select(LedgerEntry.id).where(
        LedgerEntry.enrolment_id == enrolment_id, LedgerEntry.visit_id == visit_id,
        LedgerEntry.kind == kind))


def credit(enrolment_id: int, visit_id: int, amount: Decimal, note: str,
           at: datetime | None = None) -> str | None:
    """Give a visit's debit back to the elder's ledger, once: a `reversal` entry (UNIQUE
    (enrolment, visit, kind) refuses a concurrent twin at the flush) and the balance
    raised by a relative update. If the enrolment's year has turned, the balance is left
    alone and an `expiry` entry of the same amount beside the reversal says the money
    came back too late to be spent. Returns REVERSED, EXPIRED, or None when there was
    nothing to give back (a self-paid visit, or given back before). Changes: the
    enrolment's balance, two or one ledger entries; audited."""
    amount = to_money(amount)
    if amount <= 0 or _entry(enrolment_id, visit_id, EntryKind.REVERSAL):
        return None
    at = at or utcnow()
    db.session.add(LedgerEntry(enrolment_id=enrolment_id, kind=EntryKind.REVERSAL,
                               amount=amount, visit_id=visit_id, at=at, note=note))
    db.session.flush()
    done = db.session.execute(_CREDIT_FEN, {"fen": fen(amount), "id": enrolment_id,
                                            "year": local_today().year})
    outcome = REVERSED if done.rowcount == 1 else EXPIRED
    if outcome == EXPIRED:
        db.session.add(LedgerEntry(enrolment_id=enrolment_id, kind=EntryKind.EXPIRY,
                                   amount=-amount, visit_id=visit_id, at=at,
                                   note="该年度已结束，退回的补贴随之作废"))
        db.session.flush()
    audit.record("ledger_reversal", "enrolments", enrolment_id,
                 {"visit_id": visit_id, "amount": str(amount), "ledger": outcome})
    return outcome
