"""Running tallies of the home-care figures: the subsidy allocated and spent, and the visits
made, per local day, kept by the database as the rows are written (issue 15).

The overview, the dashboard and /public ask "the year up to day D" on every request. Summed
from the rows that is every ledger entry and every visit of the year (377,000 and 296,000 at
demo scale 10); summed from these tallies it is at most 366 × SHARDS small rows, whatever the
district's size.

The tallies are written by triggers of the database (migration homecare_0005), in the
transaction that inserts the ledger entry or the visit, so no writer can forget them: the
ledger's bulk inserts, the demo's Core inserts and the year-end job included. Ledger entries
and visits are append-only (never updated or deleted), so counting inserts is counting them.
Each day's tally is split into SHARDS rows by enrolment: two scans
at two elders' homes touch different rows and never wait on each other's tally.

`recount(repair)` counts the rows again and compares (`eldercare figures recount`); the
tests recount after a random mix of writes on both databases.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eldercare.database import from_fen, stored
from eldercare.extensions import Model, db
from eldercare.timeutil import local_date

from .models import Enrolment, EntryKind, LedgerEntry, Visit

SHARDS = 16
#: the ledger kinds that count as allocated, and as spent (debits less their reversals);
#: the triggers of migration homecare_0005 name the same
ALLOCATED = (EntryKind.ALLOCATION,)
SPENT = (EntryKind.VISIT_DEBIT, EntryKind.REVERSAL)


class LedgerDay(Model):
    """The ledger entries of one local day for enrolments of one year, in whole fen."""

    __tablename__ = "ledger_days"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    shard: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    allocated: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    spent: Mapped[int] = mapped_column(sa.BigInteger, default=0, comment="negative: debits")


class VisitDay(Model):
    """The visits checked in on one local day."""

    __tablename__ = "visit_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    shard: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    visits: Mapped[int] = mapped_column(sa.Integer, default=0)


def ledger_totals(year: int, until: date) -> tuple[Decimal, Decimal]:
    """(allocated, spent) for the enrolments of `year`, entries up to the end of `until`
    (spent as a positive amount)."""
    allocated, spent = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(LedgerDay.allocated), 0),
            sa.func.coalesce(sa.func.sum(LedgerDay.spent), 0),
        ).where(LedgerDay.year == year, LedgerDay.day <= until)
    ).one()
    return from_fen(allocated), from_fen(-int(spent))


def visits_between(first: date, last: date) -> int:
    """Visits checked in from local day `first` to `last`, both included."""
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(VisitDay.visits), 0)).where(
                VisitDay.day >= first, VisitDay.day <= last
            )
        )
        or 0
    )


# --- recount ---------------------------------------------------------------------------


def _ledger_count() -> sa.Select:
    """The ledger's tallies counted from its entries: (year, day, shard, allocated, spent)."""
    amount, kind = stored(LedgerEntry.amount), LedgerEntry.kind
    day = local_date(LedgerEntry.at)
    shard = LedgerEntry.enrolment_id % SHARDS
    return (
        sa.select(
            Enrolment.year,
            day,
            shard,
            sa.func.sum(sa.case((kind.in_(ALLOCATED), amount), else_=0)),
            sa.func.sum(sa.case((kind.in_(SPENT), amount), else_=0)),
        )
        .join(Enrolment, Enrolment.id == LedgerEntry.enrolment_id)
        .group_by(Enrolment.year, day, shard)
    )


def _visit_count() -> sa.Select:
    """The visits' tallies counted from the visits: (day, shard, visits)."""
    day, shard = local_date(Visit.check_in_at), Visit.enrolment_id % SHARDS
    return sa.select(day, shard, sa.func.count(Visit.id)).group_by(day, shard)


def _counted_ledger() -> dict[tuple, tuple[int, int]]:
    rows = db.session.execute(_ledger_count())
    return {(y, _as_date(d), s): (int(a), int(p)) for y, d, s, a, p in rows}


def _counted_visits() -> dict[tuple, int]:
    rows = db.session.execute(_visit_count())
    return {(_as_date(d), s): int(n) for d, s, n in rows}


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def recount(repair: bool = False) -> dict[str, int]:
    """Count the ledger and the visits again and compare with the tallies: how many tally
    rows differ, per table. With `repair`, the differing rows are set to the count (the
    caller commits)."""
    kept_ledger = {
        (r.year, r.day, r.shard): (r.allocated, r.spent)
        for r in db.session.scalars(sa.select(LedgerDay))
    }
    kept_visits = {(r.day, r.shard): r.visits for r in db.session.scalars(sa.select(VisitDay))}
    ledger, visits = _counted_ledger(), _counted_visits()
    zero = (0, 0)
    bad_ledger = {
        k
        for k in ledger.keys() | kept_ledger.keys()
        if ledger.get(k, zero) != kept_ledger.get(k, zero)
    }
    bad_visits = {
        k for k in visits.keys() | kept_visits.keys() if visits.get(k, 0) != kept_visits.get(k, 0)
    }
    if repair:
        for year, day, shard in bad_ledger:
            allocated, spent = ledger.get((year, day, shard), zero)
            db.session.merge(
                LedgerDay(year=year, day=day, shard=shard, allocated=allocated, spent=spent)
            )
        for day, shard in bad_visits:
            db.session.merge(VisitDay(day=day, shard=shard, visits=visits.get((day, shard), 0)))
        db.session.flush()
    return {"ledger_days": len(bad_ledger), "visit_days": len(bad_visits)}


def rebuild() -> None:
    """Every tally set to a count of the rows, one statement per table: after a bulk load
    that ran with the triggers off (the demo on SQLite, whose triggers are per row:
    eldercare.bulk.row_triggers_off). The caller commits."""
    db.session.execute(sa.delete(LedgerDay))
    db.session.execute(
        sa.insert(LedgerDay).from_select(
            ["year", "day", "shard", "allocated", "spent"], _ledger_count()
        )
    )
    db.session.execute(sa.delete(VisitDay))
    db.session.execute(sa.insert(VisitDay).from_select(["day", "shard", "visits"], _visit_count()))
