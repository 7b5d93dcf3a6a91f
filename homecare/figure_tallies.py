"""Two more home-care figures kept by the database as rows are written (issue 15), beside
tallies.py (the ledger and the visits per day):

- `enrolment_days`: the elders enrolled on any day, per subsidy year. An enrolment counts
  from its enrolled_on to before its ended_on (figures.enrolled_on), kept as +1 and −1
  on those days, so the figure on day D is a sum over the days on which an enrolment of
  the year began or ended, not a count of the year's enrolments (110,000 at demo scale
  10). Enrolments change at a clerk's pace: not sharded.
- `visit_months`: visits and flagged visits per local month of check-in and provider (the
  dashboard's months), in SHARDS rows by enrolment as the day tallies are, since every
  check-in adds to it. A visit's status changes at check-out (and review): the old
  status is taken back and the new one counted.

Both are kept by the triggers of migration homecare_0008 (eldercare/day_tallies.py).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eldercare.day_tallies import Path, Source, Tally, recount
from eldercare.extensions import Model, db
from eldercare.timeutil import Month

from .tallies import SHARDS


class EnrolmentDay(Model):
    """The change on one day of the elders enrolled for a subsidy year."""

    __tablename__ = "enrolment_days"
    __table_args__ = {"info": {"tally": True}}
    KEYS = ("year",)
    COLUMNS = ("enrolled",)

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    enrolled: Mapped[int] = mapped_column(sa.Integer, default=0)


class VisitMonth(Model):
    """The visits checked in during one local month (`day`: its first day) at a provider."""

    __tablename__ = "visit_months"
    __table_args__ = {"info": {"tally": True}}
    KEYS = ("provider_id", "shard")
    COLUMNS = ("visits", "flagged")

    provider_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    shard: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    visits: Mapped[int] = mapped_column(sa.Integer, default=0)
    flagged: Mapped[int] = mapped_column(sa.Integer, default=0)


ENROLMENTS = Source("enrolments", "e", ("year", "enrolled_on", "ended_on"))
VISITS = Source("visits", "v", ("enrolment_id", "provider_id", "check_in_at", "status"))

ENROLLED = Tally(
    table="enrolment_days",
    keys=EnrolmentDay.KEYS,
    columns=EnrolmentDay.COLUMNS,
    paths=(
        Path(
            sources=(ENROLMENTS,),
            joins=(),
            keys=("e.year",),
            starts=("e.enrolled_on",),
            ends=("e.ended_on",),
            adds={"enrolled": "1"},
        ),
    ),
)


def _visit_path(month_start: str) -> Path:
    return Path(
        sources=(VISITS,),
        joins=(),
        keys=("v.provider_id", f"v.enrolment_id % {SHARDS}"),
        starts=(month_start,),
        ends=(),
        adds={"visits": "1", "flagged": "CASE WHEN v.status = 'flagged' THEN 1 ELSE 0 END"},
    )


VISIT_MONTHS = Tally(
    table="visit_months",
    keys=VisitMonth.KEYS,
    columns=VisitMonth.COLUMNS,
    paths=(
        _visit_path(
            "CAST(date_trunc('month', v.check_in_at AT TIME ZONE 'Asia/Shanghai') AS date)"
        ),
    ),
    sqlite_paths=(_visit_path("date(v.check_in_at, '+8 hours', 'start of month')"),),
)


def enrolled_on(day: date) -> int:
    """Elders enrolled on `day` for the subsidy year of `day`."""
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(EnrolmentDay.enrolled), 0)).where(
                EnrolmentDay.year == day.year, EnrolmentDay.day <= day
            )
        )
        or 0
    )


def visits_by_month(months: list[Month], provider_id: int | None = None) -> dict[str, list[int]]:
    """{'YYYY-MM': [visits, flagged]} for `months` (all providers, or one)."""
    out = {m.text: [0, 0] for m in months}
    if not months:
        return out
    stmt = (
        sa.select(VisitMonth.day, sa.func.sum(VisitMonth.visits), sa.func.sum(VisitMonth.flagged))
        .where(VisitMonth.day >= months[0].first, VisitMonth.day <= months[-1].first)
        .group_by(VisitMonth.day)
    )
    if provider_id is not None:
        stmt = stmt.where(VisitMonth.provider_id == provider_id)
    for day, visits, flagged in db.session.execute(stmt):
        key = (day if isinstance(day, date) else date.fromisoformat(day)).strftime("%Y-%m")
        if key in out:
            out[key] = [int(visits or 0), int(flagged or 0)]
    return out


def recount_figures(repair: bool = False) -> dict[str, int]:
    return {
        "enrolment_days": recount(db.session, ENROLLED, repair),
        "visit_months": recount(db.session, VISIT_MONTHS, repair),
    }
