"""特困 (五保) persons supported on any day, kept as day tallies (issue 15).

A support period counts from its start_date to before the earlier of its end_date and the
person's death_date (stats.wubao_figures, as it counted the rows). Kept by the triggers of
migration core_0012 per category and form of support; the overview reads at most a row
per category, form and day on which a support began or ended, and the trend thirteen
such sums.

Not sharded: supports change at a clerk's pace (a decision, an admission, a death), not
at the scans' (homecare.tallies).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .day_tallies import Path, Source, Tally, recount, sums_on
from .extensions import Model, db


class WubaoDay(Model):
    """The change on one day of the 特困 persons supported, per category and form."""

    __tablename__ = "wubao_days"
    __table_args__ = {"info": {"tally": True}}
    KEYS = ("category", "support")
    COLUMNS = ("persons",)

    category: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    support: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    persons: Mapped[int] = mapped_column(sa.Integer, default=0)


SUPPORTS = Source(
    "wubao_supports", "w", ("person_id", "category", "support", "start_date", "end_date")
)
PEOPLE = Source("people", "p", ("id", "death_date"))

TALLY = Tally(
    table="wubao_days",
    keys=WubaoDay.KEYS,
    columns=WubaoDay.COLUMNS,
    paths=(
        Path(
            sources=(SUPPORTS, PEOPLE),
            joins=("p.id = w.person_id",),
            keys=("w.category", "w.support"),
            starts=("w.start_date",),
            ends=("w.end_date", "p.death_date"),
            adds={"persons": "1"},
        ),
    ),
)


def supported_on(day: date) -> dict[tuple[str, str], int]:
    """{(category, support): persons supported on `day`}."""
    return {k: v["persons"] for k, v in sums_on(db.session, WubaoDay, day).items()}


def recount_wubao(repair: bool = False) -> dict[str, int]:
    return {"wubao_days": recount(db.session, TALLY, repair)}
