"""The `subsidy-year` job (API.md): on 1 January every enrolment of the year before whose
elder is alive and still enrolled is carried into the new year with the same provider and
gets the new year's subsidy, once; what was left of the old year's subsidy expires (an
entry in the old ledger says so) and the old enrolment ends on 31 December.

Written with bulk statements (11,000 elders at once) and one audit entry for the run;
idempotent: an elder already enrolled for the year is skipped, and an old ledger is
expired by a conditional update that only the balance read matches. The money moves
through homecare/ledger.py (expire_many, allocate_many), the ledger's one writer.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from eldercare import audit
from eldercare.database import stored
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus
from eldercare.timeutil import local_midnight_utc

from . import ledger, services
from .models import Enrolment, EnrolmentStatus, Service, SubsidyYear

_END = sa.text(
    "UPDATE enrolments SET status = 'ended', ended_on = :day, "
    "end_reason = 'year_end' WHERE id = :id AND status = 'active'"
)


def _carry_reference_data(year: int) -> None:
    """The new year's subsidy and price list, copied from the year before where the bureau
    has not set them yet."""
    if db.session.scalar(sa.select(SubsidyYear.id).where(SubsidyYear.year == year)) is None:
        db.session.add(SubsidyYear(year=year, amount=services.subsidy_for(year - 1)))
    if not db.session.scalar(sa.select(sa.func.count(Service.id)).where(Service.year == year)):
        old = services.catalogue(year - 1)
        if old:
            for s in old:
                db.session.add(
                    Service(year=year, code=s.code, name=s.name, unit=s.unit, price=s.price)
                )
        else:
            services.seed_reference_data(year)
    db.session.flush()


def new_subsidy_year(period: str) -> dict:
    """Carry the enrolments of `period - 1` into `period` (a year, "2027")."""
    year = int(period)
    _carry_reference_data(year)
    amount = services.subsidy_for(year)
    new_year = local_midnight_utc(date(year, 1, 1))
    expiry_at = new_year - timedelta(seconds=1)
    audit.lock_chain()  # its chain before the rows below: its commit never waits for one
    old = _to_carry(year)
    # What was left of the old year expires; the old enrolment ends on 31 December.
    expired = ledger.expire_many([(r[0], r[3]) for r in old], expiry_at, f"{year - 1} 年结余作废")
    if old:
        _carry(old, year)
        ledger.allocate_many(
            _carried_ids(old, year), amount, new_year, f"{year} 年居家养老服务补贴"
        )
    summary = {
        "carried": len(old),
        "allocated": f"{amount * len(old):.2f}",
        "expired": f"{expired:.2f}",
    }
    audit.record("subsidy_year", "enrolments", period, summary)
    db.session.flush()
    return summary


def _to_carry(year: int) -> list:
    """(id, person_id, provider_id, balance in fen) of the active enrolments of the year
    before, of living elders not enrolled in `year` yet, locked until the commit: a late
    check-out's debit waits, then finds the balance expired, instead of landing between
    this read and the expiry (PostgreSQL; SQLite's write lock, taken at BEGIN, already
    keeps it out)."""
    already = sa.select(Enrolment.person_id).where(Enrolment.year == year)
    return list(
        db.session.execute(
            sa.select(
                Enrolment.id, Enrolment.person_id, Enrolment.provider_id, stored(Enrolment.balance)
            )
            .join(Person, Person.id == Enrolment.person_id)
            .where(
                Enrolment.year == year - 1,
                Enrolment.status == EnrolmentStatus.ACTIVE,
                Person.status == PersonStatus.ACTIVE,
                Enrolment.person_id.not_in(already),
            )
            .order_by(Enrolment.id)
            .with_for_update(of=Enrolment)
        ).all()
    )


def _carry(old: list, year: int) -> None:
    """The old enrolments end on 31 December; each elder is enrolled from 1 January with
    the same provider, the balance nought until the allocation."""
    db.session.execute(_END, [{"id": r[0], "day": date(year - 1, 12, 31)} for r in old])
    db.session.execute(
        sa.insert(Enrolment),
        [
            {
                "person_id": r[1],
                "provider_id": r[2],
                "year": year,
                "status": "active",
                "enrolled_on": date(year, 1, 1),
                "ended_on": None,
                "end_reason": "",
                "card_serial": 1,
                "balance": Decimal("0.00"),
            }
            for r in old
        ],
    )


def _carried_ids(old: list, year: int) -> list[int]:
    """The new year's enrolments of the elders carried."""
    return list(
        db.session.execute(
            sa.select(Enrolment.id).where(
                Enrolment.year == year,
                Enrolment.person_id.in_(
                    sa.select(Enrolment.person_id).where(Enrolment.id.in_([r[0] for r in old]))
                ),
            )
        )
        .scalars()
        .all()
    )
