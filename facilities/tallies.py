"""The district's beds on any day, kept as day tallies by the database (issue 15).

queries.district_occupancy joined every bed to its stay, leave and outage of the day on
each request (17,200 beds at demo scale 10). Here each counts as it did there, per kind
of facility, from the latest of its starts to before the earliest of its ends:

- a bed: from its created_on (and its home's opening) until its home closes; `nursing`
  the same for nursing-type beds (a bed's kind has no history: its kind now counts on
  every day, as the query counted it);
- a stay (`stays`, the residents present or on leave), a leave (`held`) and an outage
  (`out_of_service`): from their start (and their bed's creation, their stay's start,
  their home's opening) to before their end (their stay's end, their home's closing).

The triggers of migration facilities_0002 keep them (eldercare/day_tallies.py). Reserved
beds are today's state only (no history): they are counted from the few beds that carry
a reservation, as before.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eldercare.day_tallies import Path, Source, Tally, recount, sums_on
from eldercare.extensions import Model, db


class BedDay(Model):
    """The change on one day of the beds, residents, leaves and outages, per kind of
    facility."""

    __tablename__ = "bed_days"
    __table_args__ = {"info": {"tally": True}}
    KEYS = ("kind",)
    COLUMNS = ("beds", "nursing", "stays", "held", "out_of_service")

    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    beds: Mapped[int] = mapped_column(sa.Integer, default=0)
    nursing: Mapped[int] = mapped_column(sa.Integer, default=0)
    stays: Mapped[int] = mapped_column(sa.Integer, default=0)
    held: Mapped[int] = mapped_column(sa.Integer, default=0)
    out_of_service: Mapped[int] = mapped_column(sa.Integer, default=0)


FACILITIES = Source("facilities", "f", ("id", "kind", "opened_on", "closed_on"))
BEDS = Source("beds", "b", ("id", "facility_id", "kind", "created_on"))
STAYS = Source("stays", "s", ("id", "bed_id", "start_date", "end_date"))
LEAVES = Source("leaves", "l", ("stay_id", "start_date", "returned_on"))
OUTAGES = Source("bed_outages", "o", ("bed_id", "start_date", "end_date"))

_BED = ("b.created_on", "f.opened_on")

TALLY = Tally(
    table="bed_days",
    keys=BedDay.KEYS,
    columns=BedDay.COLUMNS,
    paths=(
        Path(
            sources=(BEDS, FACILITIES),
            joins=("f.id = b.facility_id",),
            keys=("f.kind",),
            starts=_BED,
            ends=("f.closed_on",),
            adds={"beds": "1", "nursing": "CASE WHEN b.kind = 'nursing' THEN 1 ELSE 0 END"},
        ),
        Path(
            sources=(STAYS, BEDS, FACILITIES),
            joins=("b.id = s.bed_id", "f.id = b.facility_id"),
            keys=("f.kind",),
            starts=("s.start_date", *_BED),
            ends=("s.end_date", "f.closed_on"),
            adds={"stays": "1"},
        ),
        Path(
            sources=(LEAVES, STAYS, BEDS, FACILITIES),
            joins=("s.id = l.stay_id", "b.id = s.bed_id", "f.id = b.facility_id"),
            keys=("f.kind",),
            starts=("l.start_date", "s.start_date", *_BED),
            ends=("l.returned_on", "s.end_date", "f.closed_on"),
            adds={"held": "1"},
        ),
        Path(
            sources=(OUTAGES, BEDS, FACILITIES),
            joins=("b.id = o.bed_id", "f.id = b.facility_id"),
            keys=("f.kind",),
            starts=("o.start_date", *_BED),
            ends=("o.end_date", "f.closed_on"),
            adds={"out_of_service": "1"},
        ),
    ),
)


def beds_on(day: date) -> dict[str, dict[str, int]]:
    """{facility kind: {beds, nursing, stays, held, out_of_service}} on `day`."""
    return {k[0]: v for k, v in sums_on(db.session, BedDay, day).items()}


def recount_beds(repair: bool = False) -> dict[str, int]:
    return {"bed_days": recount(db.session, TALLY, repair)}
