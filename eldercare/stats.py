"""The overview figures: the core's own (特困) plus what each feature contributes."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

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


def wubao_figures(day: date) -> dict:
    """特困 persons supported on `day`, by category and by form of support."""
    rows = db.session.execute(
        sa.select(WubaoSupport.category, WubaoSupport.support, sa.func.count())
        .join(Person, Person.id == WubaoSupport.person_id)
        .where(support_active_on(day))
        .where(sa.or_(Person.death_date.is_(None), Person.death_date > day))
        .group_by(WubaoSupport.category, WubaoSupport.support)
    ).all()
    out = {"total": 0, "elderly": 0, "disabled": 0, "minor": 0, "centralized": 0, "dispersed": 0}
    for category, support, n in rows:
        out["total"] += n
        out[WubaoCategory(category).value] += n
        out[Support(support).value] += n
    out["centralized_rate"] = ratio(out["centralized"], out["total"])
    return out


def overview(day: date) -> dict:
    result: dict = {"date": day.isoformat(), "wubao": wubao_figures(day)}
    for contribute in registry().overview:
        result.update(contribute(day))
    return result
