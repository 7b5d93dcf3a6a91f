"""The day-care register page (点名, issue 17.6): a centre's regulars with a checkbox each,
for a chosen day (today or a past day), saved at once. Pages on views.bp; the service is
daycare_register.py. Thin: form → service → commit → flash → redirect."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from eldercare.auth.web import role_required
from eldercare.extensions import db
from eldercare.timeutil import local_today

from . import daycare_figures, daycare_register, scoping
from .models import Facility
from .pages import record_id, valid
from .views import STAFF, WRITERS, bp


class RegisterForm(FlaskForm):
    date = DateField(_l("日期"), validators=[DataRequired()])
    id_number = StringField(_l("新来的老人（身份证号）"), validators=[Optional(), Length(max=40)])


def _day_arg() -> date:
    today = local_today()
    try:
        day = date.fromisoformat(request.args.get("date") or today.isoformat())
    except ValueError:
        return today
    return min(day, today)


@bp.get("/facilities/<int:facility_id>/register")
@role_required(*STAFF)
def register(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    daycare_register.check_day_care(facility)
    day = _day_arg()
    present = daycare_register.present_on(facility.id, day)
    people = daycare_register.regulars(facility, day)
    month = daycare_figures.month_table(day, Facility.id == facility.id)
    return render_template(
        "facilities/register.html",
        facility=facility,
        day=day,
        today=local_today(),
        people=people,
        present=present,
        form=RegisterForm(date=day),
        month=month,
        can_write=current_user.role in WRITERS,
    )


@bp.post("/facilities/<int:facility_id>/register")
@role_required(*WRITERS)
def register_save(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = RegisterForm()
    valid(form)
    day = form.date.data
    ids = [record_id(v) for v in request.form.getlist("person_id")]
    people = daycare_register.people_named(current_user, ids)
    number = (form.id_number.data or "").strip()
    if number:
        named = scoping.person_named(current_user, None, number)
        with scoping.discreet(named):
            daycare_register.check_present_possible(named.person, day)
        people.append(named.person)
    saved = daycare_register.save_register(facility, day, people, current_user)
    db.session.commit()
    flash(
        _(
            "已保存 %(d)s 的签到：%(n)s 人（新增 %(a)s，取消 %(r)s）",
            d=day.isoformat(),
            n=len(saved.present),
            a=saved.added,
            r=saved.removed,
        ),
        "success",
    )
    return redirect(
        url_for("facilities.register", facility_id=facility.id, date=day.isoformat()), 303
    )
