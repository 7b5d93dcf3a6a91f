"""Working days: Monday to Friday, less the statutory holidays, plus the weekends worked
in exchange (调休), as the State Council's notice (国务院办公厅关于某年部分节假日安排的通知)
sets them each year. The bureau keeps them in `calendar_days` (the page /calendar, the
API /api/v1/calendar); every deadline counted in working days reads them through
`calendar()` here and nowhere else.

A year without a single row is a year the bureau has not entered: its days count as
Monday to Friday, and `missing_years` names it (the calendar page and the alerts job
warn), from 1 November for the next year, when deadlines start to reach into it.

The seed is the 2026 notice (国务院办公厅, 4 November 2025; published by Xinhua, e.g.
politics.gmw.cn/2025-11/04/content_38391083.htm). It must be checked against the notice
each year; 2027's had not been published when this was written, so 2027 is not seeded
and the bureau enters it from the notice when it comes (usually November or December).

Changing the calendar announces `calendar_changed` (eldercare/signals.py) with the first
day changed, so that a feature can recount the deadlines still running (intake does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import g, has_app_context
from flask_babel import lazy_gettext as _l

from .database import insert_or_raise
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .models import CalendarDay, DayKind
from .signals import calendar_changed
from .timeutil import local_today

#: when the next year's calendar is missed (month, day): deadlines of 15 working days
#: counted from December reach into January
WARN_NEXT_YEAR_FROM = (11, 1)

#: (first day, last day, name) off; then the weekend days worked — 2026 (State Council
#: notice of 4 November 2025). Checked against the notice each December.
SEED: dict[int, tuple[tuple[tuple[date, date, str], ...], tuple[tuple[date, str], ...]]] = {
    2026: (
        (
            (date(2026, 1, 1), date(2026, 1, 3), "元旦"),
            (date(2026, 2, 15), date(2026, 2, 23), "春节"),
            (date(2026, 4, 4), date(2026, 4, 6), "清明节"),
            (date(2026, 5, 1), date(2026, 5, 5), "劳动节"),
            (date(2026, 6, 19), date(2026, 6, 21), "端午节"),
            (date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
            (date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
        ),
        (
            (date(2026, 1, 4), "元旦"),
            (date(2026, 2, 14), "春节"),
            (date(2026, 2, 28), "春节"),
            (date(2026, 5, 9), "劳动节"),
            (date(2026, 9, 20), "国庆节"),
            (date(2026, 10, 10), "国庆节"),
        ),
    ),
}


@dataclass(frozen=True)
class WorkCalendar:
    """The calendar as read once: which days are off, which weekend days are worked,
    which years the bureau has entered."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.workdays or day.weekday() < 5

    def add(self, day: date, n: int) -> date:
        """The n-th working day after `day`."""
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def between(self, a: date, b: date) -> int:
        """Working days after `a` up to and including `b` (0 when b <= a)."""
        if b <= a:
            return 0
        weeks, rest = divmod((b - a).days, 7)
        n = weeks * 5
        for i in range(1, rest + 1):
            if (a + timedelta(days=weeks * 7 + i)).weekday() < 5:
                n += 1
        # the exceptions inside (a, b]: a holiday on a weekday takes one away, a weekend
        # day worked adds one
        n -= sum(1 for d in self.holidays if a < d <= b and d.weekday() < 5)
        n += sum(1 for d in self.workdays if a < d <= b and d not in self.holidays)
        return n


def calendar() -> WorkCalendar:
    """The calendar, read from `calendar_days` once per request (or CLI command, or job):
    the one place deadlines read it. Changing it here drops the copy."""
    if has_app_context() and "_work_calendar" in g:
        cal: WorkCalendar = g._work_calendar
        return cal
    rows = db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind)).all()
    cal = WorkCalendar(
        holidays=frozenset(r.day for r in rows if r.kind == DayKind.HOLIDAY),
        workdays=frozenset(r.day for r in rows if r.kind == DayKind.WORKDAY),
        years=frozenset(r.day.year for r in rows),
    )
    if has_app_context():
        g._work_calendar = cal
    return cal


def _forget() -> None:
    if has_app_context():
        g.pop("_work_calendar", None)


def add_working_days(day: date, n: int) -> date:
    """The n-th working day after `day`."""
    return calendar().add(day, n)


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b` (0 when b <= a)."""
    return calendar().between(a, b)


def missing_years(today: date | None = None) -> list[int]:
    """The years deadlines may reach that the bureau has not entered: this year, and
    the next from 1 November."""
    today = today or local_today()
    known = calendar().years
    out = [today.year] if today.year not in known else []
    if (today.month, today.day) >= WARN_NEXT_YEAR_FROM and today.year + 1 not in known:
        out.append(today.year + 1)
    return out


# --- the bureau's changes -----------------------------------------------------------------


def days_of(year: int) -> list[CalendarDay]:
    return list(
        db.session.scalars(
            sa.select(CalendarDay)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
            .order_by(CalendarDay.day)
        )
    )


def years_entered() -> list[int]:
    return sorted(calendar().years)


def add_day(day: date, kind: str, name: str = "") -> CalendarDay:
    """Enter a holiday, or a Saturday or Sunday worked. Raises Invalid (a weekday worked,
    an unknown kind, a name too long), Conflict (the day is entered already). Audited
    (ORM); flushes."""
    try:
        kind_ = DayKind(kind)
    except ValueError:
        raise Invalid(_l("类型无效"), fields={"kind": _l("放假或调休上班")}) from None
    name = (name or "").strip()
    if len(name) > 32:
        raise Invalid(_l("名称过长"), fields={"name": _l("32 字以内")})
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        raise Invalid(_l("日期无效"), fields={"day": _l("2000 到 2100 年")})
    if kind_ == DayKind.WORKDAY and day.weekday() < 5:
        raise Invalid(_l("调休上班日须是周六或周日"), fields={"day": _l("须是周六或周日")})
    row = CalendarDay(day=day, kind=kind_, name=name)
    insert_or_raise(
        row,
        Conflict(_l("%(day)s 已在日历中，请先删除", day=day.isoformat()), code="day_exists"),
    )
    _changed(day)
    return row


def remove_day(day: date) -> None:
    """Take a day out of the calendar (it is what its weekday says again). Raises
    NotFound. Audited (ORM); flushes."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        raise NotFound(_l("日历中没有这一天"))
    db.session.delete(row)
    db.session.flush()
    _changed(day)


def _changed(day: date) -> None:
    _forget()
    calendar_changed.send(day)


def seed() -> None:
    """init-db's seed: each year of SEED the table has no day of (idempotent; a year
    the bureau has entered or changed is left as it is)."""
    known = {r for r in db.session.scalars(sa.select(CalendarDay.day))}
    years = {d.year for d in known}
    for year, (off, worked) in SEED.items():
        if year in years:
            continue
        for first, last, name in off:
            d = first
            while d <= last:
                db.session.add(CalendarDay(day=d, kind=DayKind.HOLIDAY, name=name))
                d += timedelta(days=1)
        for d, name in worked:
            db.session.add(CalendarDay(day=d, kind=DayKind.WORKDAY, name=name))
    db.session.flush()
    _forget()
