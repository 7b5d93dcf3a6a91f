"""The day-care attendance page: arrivals and departures at the door, by a
regular's id or an ID number (discreetly: scoping.discreet), and a day's list with its
export. Pages on views.bp. Thin: form → service → commit → flash → redirect."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.pagination import page_of
from eldercare.timeutil import LOCAL, local_today

from . import scoping, services
from .forms import AttendanceForm
from .models import Attendance
from .pages import valid
from .views import STAFF, WRITERS, bp


def _day_arg(name: str = "day"):
    try:
        return (
            date.fromisoformat(request.args.get(name) or "")
            if request.args.get(name)
            else local_today()
        )
    except ValueError:
        return local_today()


@bp.route("/facilities/<int:facility_id>/attendance", methods=["GET", "POST"])
@role_required(*STAFF)
def attendance(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    day = _day_arg()
    form = AttendanceForm()
    if request.method == "POST":
        if current_user.role not in WRITERS:
            abort(403)
        valid(form)
        raw = form.id_number.data.strip()
        # A short run of digits is a person's id (a regular of the centre), else a number.
        by_id = raw.isdigit() and len(raw) < 10
        named = scoping.person_named(
            current_user, int(raw) if by_id else None, None if by_id else raw
        )
        person = named.person
        now = datetime.now(LOCAL)
        with scoping.discreet(named):
            services.record_attendance(
                facility,
                person,
                local_today(),
                now if form.action.data == "arrive" else None,
                now if form.action.data == "leave" else None,
                current_user,
            )
        db.session.commit()
        flash(_("已登记 %(name)s", name=person.name), "success")
        return redirect(url_for("facilities.attendance", facility_id=facility.id), 303)
    stmt = (
        sa.select(Attendance)
        .where(Attendance.facility_id == facility.id, Attendance.day == day)
        .order_by(Attendance.arrived_at)
    )
    if wants_export():
        return export_response(
            f"attendance-{facility.id}-{day.isoformat()}",
            ["姓名", "日期", "到达", "离开"],
            ((a.person.name, a.day, a.arrived_at, a.left_at) for a in db.session.scalars(stmt)),
        )
    page = page_of(stmt, request.args)
    return render_template(
        "facilities/attendance.html",
        facility=facility,
        page=page,
        day=day,
        form=form,
        can_write=current_user.role in WRITERS,
    )
