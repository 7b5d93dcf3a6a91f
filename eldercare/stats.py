"""The overview figures: the core's own (特困) plus what each feature contributes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from .extensions import db
from .models import Person, WubaoSupport
from .models.people import Support, WubaoCategory
from .registry import registry


def ratio(part: int | Decimal, whole: int | Decimal) -> str:
    """A rate as the contract writes it: a string with three decimals."""
    if not whole:
        return "0.000"
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.001"), ROUND_HALF_UP))


def support_active_on(day: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        WubaoSupport.start_date <= day,
        sa.or_(WubaoSupport.end_date.is_(None), WubaoSupport.end_date > day),
    )


def wubao_counted(day: date) -> dict[tuple[str, str], int]:
    """{(category, support): persons supported on `day`} counted from the support rows:
    what the day tallies (wubao_tallies) keep, and what their tests compare with."""
    rows = db.session.execute(
        sa.select(WubaoSupport.category, WubaoSupport.support, sa.func.count())
        .join(Person, Person.id == WubaoSupport.person_id)
        .where(support_active_on(day))
        .where(sa.or_(Person.death_date.is_(None), Person.death_date > day))
        .group_by(WubaoSupport.category, WubaoSupport.support)
    ).all()
    return {(str(c), str(s)): int(n) for c, s, n in rows}


def wubao_figures(day: date) -> dict:
    """特困 persons supported on `day`, by category and by form of support (from the day
    tallies: a sum of the days on which a support began or ended, whatever the size)."""
    from .wubao_tallies import supported_on

    out: dict[str, Any] = dict.fromkeys(
        ("total", "elderly", "disabled", "minor", "centralized", "dispersed"), 0
    )
    for (category, support), n in supported_on(day).items():
        if not n:
            continue
        out["total"] += n
        out[WubaoCategory(category).value] += n
        out[Support(support).value] += n
    out["centralized_rate"] = ratio(out["centralized"], out["total"])
    return out


def month_ends(until: date, months: int = 12) -> list[date]:
    """The last day of each of the `months` months before `until`'s, then `until`: the
    points of a monthly trend, oldest first."""
    days = [until]
    first = until.replace(day=1)
    for _ in range(months):
        month_end = first - timedelta(days=1)
        days.append(month_end)
        first = month_end.replace(day=1)
    return days[::-1]


def wubao_trend(until: date, months: int = 12) -> list[dict]:
    """特困 persons and the centralised-support rate (集中供养率) at each month's end up to
    `until`, answered from the support records' history."""
    return [
        {
            "date": d.isoformat(),
            **{
                k: v
                for k, v in wubao_figures(d).items()
                if k in ("total", "centralized", "centralized_rate")
            },
        }
        for d in month_ends(until, months)
    ]


def page_date(value: str | None, today: date) -> date:
    """The day a figure page asks for (`?date=`): a valid date from 2000 to today,
    otherwise today."""
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        return today
    return day if date(2000, 1, 1) <= day <= today else today


def overview(day: date) -> dict:
    result: dict = {"date": day.isoformat(), "wubao": wubao_figures(day)}
    for contribute in registry().overview:
        result.update(contribute(day))
    return result
