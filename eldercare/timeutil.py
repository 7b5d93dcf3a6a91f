"""The one place for time: stored UTC times turned into Asia/Shanghai and back, the
district's months (`Month`), and the same conversions in SQL for grouping and bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .errors import Invalid

LOCAL = ZoneInfo("Asia/Shanghai")  # China keeps no summer time: always UTC+8
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL)


def local_today() -> date:
    """Today in the district (a UTC date would be yesterday before 08:00)."""
    return datetime.now(LOCAL).date()


def local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(UTC)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of the district (claims, scorecards, figures): `Month.parse("2026-06")`,
    `Month.of(day)`; its days, its bounds in UTC for querying stored times, the months
    before and after."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9998:
            raise ValueError(f"no such month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str | None, field: str = "month") -> Month:
        """`YYYY-MM`; Invalid naming `field` for anything else."""
        found = MONTH_RE.match((text or "").strip())
        if found and 1 <= int(found.group(1)) <= 9998:  # year 0 and 9999 have no neighbours
            return cls(int(found.group(1)), int(found.group(2)))
        raise Invalid(_l("月份须为 YYYY-MM"), fields={field: _l("须为 YYYY-MM")})

    @classmethod
    def of(cls, day: date | datetime) -> Month:
        """The month of a date, or of a time as the district's clock shows it."""
        if isinstance(day, datetime):
            day = to_local(day).date()
        return cls(day.year, day.month)

    @classmethod
    def current(cls) -> Month:
        return cls.of(local_today())

    @property
    def text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __str__(self) -> str:
        return self.text

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    @property
    def days(self) -> int:
        return self.last.day

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def start_utc(self) -> datetime:
        """Local midnight of the first day, in UTC: the lower bound (inclusive)."""
        return local_midnight_utc(self.first)

    @property
    def end_utc(self) -> datetime:
        """Local midnight after the last day, in UTC: the upper bound (exclusive)."""
        return local_midnight_utc(self.next().first)

    def bounds_utc(self) -> tuple[datetime, datetime]:
        return self.start_utc, self.end_utc

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    @classmethod
    def of_year(cls, year: int, until: date | None = None) -> list[Month]:
        """The months of `year`, up to the month of `until` when it falls in that year."""
        last = until.month if until is not None and until.year == year else 12
        return [cls(year, m) for m in range(1, last + 1)]


def months_between(a: date, b: date) -> int:
    """Whole calendar months from the month of `a` to the month of `b` (0 if b is earlier)."""
    return max(0, (b.year - a.year) * 12 + b.month - a.month)


# --- the same in SQL ------------------------------------------------------------------------
# Stored times are UTC: SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text, PostgreSQL
# timestamptz. Each helper gives the expression for the dialect of the bound engine.


def _sqlite() -> bool:
    from .database import is_postgres

    return not is_postgres()


def local_date(col) -> sa.ColumnElement:
    """The Asia/Shanghai date of a stored UTC time."""
    if _sqlite():
        return sa.func.date(col, "+8 hours")
    return sa.cast(sa.func.timezone("Asia/Shanghai", col), sa.Date)


def local_month(col) -> sa.ColumnElement:
    """'YYYY-MM' of a stored UTC time in Asia/Shanghai, for grouping by month."""
    if _sqlite():
        return sa.func.substr(sa.func.datetime(col, "+8 hours"), 1, 7)
    return sa.func.to_char(sa.func.timezone("Asia/Shanghai", col), "YYYY-MM")


def seconds_between(start, end) -> sa.ColumnElement:
    """Whole seconds from `start` to `end`."""
    if _sqlite():
        return sa.cast(
            sa.func.round((sa.func.julianday(end) - sa.func.julianday(start)) * 86400),
            sa.BigInteger,
        )
    return sa.cast(sa.extract("epoch", end - start), sa.BigInteger)


def hours_before(col, hours: int) -> sa.ColumnElement:
    """A stored UTC time `hours` earlier, comparable with the column itself."""
    if _sqlite():
        # datetime() drops the fraction, which sorts just before any time of that
        # second: a bound that includes it.
        return sa.func.datetime(col, f"-{int(hours)} hours")
    return col - sa.text(f"interval '{int(hours)} hours'")
