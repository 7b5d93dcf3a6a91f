"""The working calendar's page (/calendar) and API (/api/v1/calendar): the bureau's admin
enters the year's holidays and the weekends worked from the State Council's notice;
the auditor reads; every change is audited (ORM). The rules are eldercare/workdays.py.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Literal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from pydantic import BaseModel, Field
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from . import workdays
from .apikit import Body, Query, endpoint
from .auth.web import role_required
from .errors import DomainError, Invalid
from .extensions import db
from .models import CalendarDay, Role
from .people.forms import choices
from .registry import NavItem
from .timeutil import local_today

bp = Blueprint("calendar", __name__)
api = Blueprint("calendar_api", __name__, url_prefix="/api/v1")
READERS = (Role.ADMIN, Role.AUDITOR)
ADMIN = (Role.ADMIN,)
KINDS = [("holiday", _l("放假")), ("workday", _l("调休上班（周六或周日）"))]


@bp.record_once
def _register(state) -> None:
    reg = state.app.extensions["eldercare"]
    reg.nav.append(NavItem("calendar.index", _l("节假日"), READERS, 84))
    reg.seeds.append(workdays.seed)
    reg.alert_sources.append(missing_alerts)


def missing_alerts(day: date) -> list[dict]:
    """For the alerts job: a year deadlines reach whose holidays are not entered."""
    return [
        {
            "kind": "calendar_missing",
            "role": "admin",
            "message": _l(
                "%(y)s 年节假日安排尚未录入：办理时限暂按周一至周五计算，请按国务院办公厅通知录入",
                y=year,
            ),
            "link": f"/calendar?year={year}",
        }
        for year in workdays.missing_years(day)
    ]


# --- the page -----------------------------------------------------------------------------


class DayForm(FlaskForm):
    day = DateField(_l("日期"), validators=[DataRequired()])
    kind = SelectField(_l("类型"), choices=choices(KINDS))
    name = StringField(_l("节日名称"), validators=[Optional(), Length(max=32)])


def _year() -> int:
    text = request.args.get("year") or ""
    year = int(text) if text.isdigit() else local_today().year
    return year if 2000 <= year <= 2100 else local_today().year


@bp.route("/calendar", methods=["GET", "POST"])
@role_required(*READERS)
def index():
    year = _year()
    form = DayForm()
    admin = current_user.role == Role.ADMIN
    status = 200
    if request.method == "POST":
        if not admin:
            abort(403)
        if form.validate_on_submit() and form.day.data is not None:
            try:
                workdays.add_day(form.day.data, form.kind.data or "", form.name.data or "")
                db.session.commit()
                flash(_("已录入 %(d)s", d=form.day.data.isoformat()), "success")
                return redirect(url_for("calendar.index", year=form.day.data.year), 303)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        status = 422
    return render_template(
        "calendar.html",
        year=year,
        days=workdays.days_of(year),
        years=workdays.years_entered(),
        missing=workdays.missing_years(),
        form=form,
        admin=admin,
        kinds=dict(KINDS),
    ), status


@bp.post("/calendar/<string:day>/delete")
@role_required(*ADMIN)
def delete(day: str):
    on = _day(day)  # the form's CSRF token is checked for every POST (CSRFProtect)
    try:
        workdays.remove_day(on)
        db.session.commit()
        flash(_("已删除 %(d)s", d=on.isoformat()), "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(url_for("calendar.index", year=on.year), 303)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(_l("日期须为 YYYY-MM-DD"), fields={"day": _l("须为 YYYY-MM-DD")}) from None


# --- the API ------------------------------------------------------------------------------


class DayOut(BaseModel):
    day: dt.date
    kind: Literal["holiday", "workday"]
    name: str


class CalendarOut(BaseModel):
    year: int
    entered: bool
    missing_years: list[int]
    days: list[DayOut]


class YearQuery(Query):
    year: int | None = Field(None, ge=2000, le=2100)


class DayIn(Body):
    day: dt.date = Field(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))
    kind: Literal["holiday", "workday"]
    name: str = Field("", max_length=32)


def _json(row: CalendarDay) -> dict:
    return {"day": row.day, "kind": row.kind.value, "name": row.name}


def _year_json(year: int) -> dict:
    return {
        "year": year,
        "entered": year in workdays.years_entered(),
        "missing_years": workdays.missing_years(),
        "days": [_json(r) for r in workdays.days_of(year)],
    }


@endpoint(
    api,
    "/calendar",
    roles=READERS,
    query=YearQuery,
    response=CalendarOut,
    summary="The year's holidays and weekend days worked (调休), and the years not entered",
)
def api_list(query: YearQuery):
    return _year_json(query.year or local_today().year)


@endpoint(
    api,
    "/calendar",
    ["POST"],
    roles=ADMIN,
    body=DayIn,
    response=DayOut,
    status=201,
    summary="Enter a holiday, or a Saturday or Sunday worked",
)
def api_add(body: DayIn):
    row = workdays.add_day(body.day, body.kind, body.name)
    out = _json(row)
    db.session.commit()
    return out


@endpoint(
    api,
    "/calendar/<string:day>",
    ["DELETE"],
    roles=ADMIN,
    response=CalendarOut,
    summary="Take a day out of the calendar; answers the year as it is now",
)
def api_remove(day: str):
    on = _day(day)
    workdays.remove_day(on)
    db.session.commit()
    return _year_json(on.year)
