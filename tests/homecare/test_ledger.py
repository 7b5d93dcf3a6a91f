"""homecare/ledger.py, the subsidy ledger's one writer: each change is a conditional
relative update checked by its row count, with its entry in the same transaction, so that
`balance == sum(entries)` holds and nothing is taken twice or from nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eldercare.database import fen, utcnow
from eldercare.errors import Conflict
from eldercare.extensions import db
from homecare import ledger
from homecare.models import Enrolment, EntryKind, LedgerEntry, Visit

from .conftest import elder, enrol, now


def _sums(enrolment_id: int) -> tuple[Decimal, Decimal]:
    """(balance, sum of the ledger's entries) as stored."""
    db.session.expire_all()
    balance = db.session.get(Enrolment, enrolment_id).balance
    total = sum(
        (
            e.amount
            for e in db.session.scalars(
                sa.select(LedgerEntry).where(LedgerEntry.enrolment_id == enrolment_id)
            )
        ),
        Decimal("0.00"),
    )
    return balance, total


def _visit(world, amount: str = "40.00") -> Visit:
    at = now()
    v = Visit(
        enrolment_id=world.enrolment.id,
        provider_id=world.provider.id,
        worker_id=world.worker.id,
        check_in_at=at,
        check_out_at=at,
        status="completed",
        amount=Decimal(amount),
        subsidised=Decimal(amount),
        self_paid=Decimal("0.00"),
        exceptions=[],
    )
    db.session.add(v)
    db.session.flush()
    return v


def test_a_debit_takes_no_more_than_is_left_and_the_ledger_adds_up(world):
    eid = world.enrolment.id
    assert ledger.debit(eid, _visit(world).id, Decimal("40.00"), now()) == Decimal("40.00")
    assert ledger.debit(eid, _visit(world).id, Decimal("500.00"), now()) == Decimal("260.00")
    assert ledger.debit(eid, _visit(world).id, Decimal("10.00"), now()) == Decimal("0.00")
    db.session.commit()
    assert _sums(eid) == (Decimal("0.00"), Decimal("0.00"))
    kinds = db.session.scalars(
        sa.select(LedgerEntry.kind).where(LedgerEntry.enrolment_id == eid).order_by(LedgerEntry.id)
    ).all()
    assert kinds == [EntryKind.ALLOCATION, EntryKind.VISIT_DEBIT, EntryKind.VISIT_DEBIT]


def test_a_second_allocation_is_refused_and_a_missing_enrolment_raises(world):
    with pytest.raises(IntegrityError):  # one allocation per enrolment (partial unique index)
        ledger.allocate(world.enrolment.id, Decimal("300.00"), utcnow(), "again")
    db.session.rollback()
    # no such enrolment: its entry's foreign key (or, failing that, the row count) refuses
    with pytest.raises((IntegrityError, Conflict)):
        ledger.allocate_many([world.enrolment.id + 999], Decimal("300.00"), utcnow(), "x")
    db.session.rollback()
    assert _sums(world.enrolment.id) == (Decimal("300.00"), Decimal("300.00"))


def test_credit_gives_back_once_and_expires_once_the_year_has_turned(world, monkeypatch):
    eid = world.enrolment.id
    v = _visit(world)
    ledger.debit(eid, v.id, Decimal("40.00"), now())
    assert ledger.credit(eid, v.id, Decimal("40.00"), "not delivered") == ledger.REVERSED
    assert ledger.credit(eid, v.id, Decimal("40.00"), "again") is None
    db.session.commit()
    assert _sums(eid) == (Decimal("300.00"), Decimal("300.00"))
    late = _visit(world)
    ledger.debit(eid, late.id, Decimal("40.00"), now())
    year = world.enrolment.year
    monkeypatch.setattr(ledger, "local_today", lambda: date(year + 1, 1, 2))
    assert ledger.credit(eid, late.id, Decimal("40.00"), "too late") == ledger.EXPIRED
    db.session.commit()
    # the money came back to a year already over: reversal and expiry side by side
    assert _sums(eid) == (Decimal("260.00"), Decimal("260.00"))


def test_bulk_debits_are_all_or_nothing(world):
    other = enrol(elder("张桂兰"), world.provider)
    at = datetime.now(UTC)
    ledger.debit_many(
        [
            (world.enrolment.id, _visit(world).id, Decimal("100.00"), at),
            (world.enrolment.id, _visit(world).id, Decimal("150.00"), at),
            (other.id, None, Decimal("30.00"), at),
        ]
    )
    db.session.commit()
    assert _sums(world.enrolment.id) == (Decimal("50.00"), Decimal("50.00"))
    assert _sums(other.id) == (Decimal("270.00"), Decimal("270.00"))
    with pytest.raises(Conflict) as err:  # 50.00 left cannot cover 60.00: nothing is taken
        ledger.debit_many(
            [
                (other.id, None, Decimal("10.00"), at),
                (world.enrolment.id, _visit(world).id, Decimal("60.00"), at),
            ]
        )
    db.session.rollback()
    assert err.value.code == "insufficient_balance"
    assert _sums(world.enrolment.id) == (Decimal("50.00"), Decimal("50.00"))
    assert _sums(other.id) == (Decimal("270.00"), Decimal("270.00"))


def test_expiry_takes_exactly_what_was_read_or_nothing(world):
    eid = world.enrolment.id
    stale = [(eid, fen(Decimal("300.00")) - 100)]  # read before a debit moved it
    with pytest.raises(Conflict):
        ledger.expire_many(stale, utcnow(), "year end")
    db.session.rollback()
    assert ledger.expire_many([(eid, fen(Decimal("300.00")))], utcnow(), "year end") == Decimal(
        "300.00"
    )
    db.session.commit()
    assert _sums(eid) == (Decimal("0.00"), Decimal("0.00"))
