"""Set-up pages (issue 17.2): add, edit and close a facility (the bureau); add and edit
the rooms and beds of a home (the bureau, or the home's own manager). A bed out of
service and back is on the bed's page (views_stays.py). Thin: form → service → commit →
flash → redirect; a domain error is flashed by the core's handler, nothing stored."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import queries, scoping, services
from .forms_setup import BedForm, CloseForm, FacilityForm, RoomForm
from .models import Bed, Facility, Room
from .pages import townships, valid
from .views import STAFF, WRITERS, bp

ADMIN = (Role.ADMIN,)


def _flash_done(message: str) -> None:
    flash(message, "success")


def _town_choices(form: FacilityForm) -> None:
    form.township_code.choices = [("", "—"), *sorted(townships().items())]


@bp.route("/facilities/new", methods=["GET", "POST"])
@role_required(*ADMIN)
def new_facility():
    form = FacilityForm()
    _town_choices(form)
    if request.method == "POST":
        valid(form)
        f = services.create_facility(
            form.name.data,
            form.kind.data,
            form.township_code.data or None,
            form.address.data or "",
            form.capacity.data or 0,
            form.opened_on.data,
        )
        db.session.commit()
        _flash_done(_("已新增机构 %(name)s，请添加房间和床位", name=f.name))
        return redirect(url_for("facilities.setup", facility_id=f.id), 303)
    if form.opened_on.data is None:
        form.opened_on.data = local_today()
    return render_template(
        "facilities/facility_form.html", form=form, facility=None, close_form=None
    )


@bp.route("/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
@role_required(*ADMIN)
def edit_facility(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = FacilityForm(obj=facility if request.method == "GET" else None)
    _town_choices(form)
    form.kind.data = facility.kind.value  # the kind is not changed here: figures follow it
    if request.method == "POST":
        valid(form)
        services.update_facility(
            facility,
            name=form.name.data,
            township_code=form.township_code.data or "",
            address=form.address.data or "",
            capacity=form.capacity.data or 0,
            opened_on=form.opened_on.data,
            user=current_user,
        )
        db.session.commit()
        _flash_done(_("已保存 %(name)s", name=facility.name))
        return redirect(url_for("facilities.board", facility_id=facility.id), 303)
    return render_template(
        "facilities/facility_form.html",
        form=form,
        facility=facility,
        close_form=CloseForm(date=local_today()),
        occ=queries.facility_occupancy(facility.id),
    )


@bp.post("/facilities/<int:facility_id>/close")
@role_required(*ADMIN)
def close_facility(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = CloseForm()
    valid(form)
    services.close_facility(facility, form.date.data, current_user)
    db.session.commit()
    _flash_done(_("%(name)s 已于 %(d)s 关闭", name=facility.name, d=form.date.data.isoformat()))
    return redirect(url_for("facilities.index"), 303)


# --- rooms and beds ----------------------------------------------------------------


def _room_choices(facility: Facility, form: BedForm) -> None:
    form.room_id.choices = [("0", _("不分房间"))] + [(str(r.id), r.code) for r in facility.rooms]


def _room_of(facility: Facility, room_id: int) -> Room:
    room = db.session.get(Room, room_id)
    if room is None or room.facility_id != facility.id:
        raise NotFound(_("未找到该房间"))
    return room


def _room_id(value) -> int:
    text = str(value or "0")
    return int(text) if text.isdigit() else 0


@bp.get("/facilities/<int:facility_id>/setup")
@role_required(*STAFF)
def setup(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    beds = list(
        db.session.scalars(sa.select(Bed).where(Bed.facility_id == facility.id).order_by(Bed.code))
    )
    by_room: dict[int | None, list[Bed]] = {}
    for b in beds:
        by_room.setdefault(b.room_id, []).append(b)
    bed_form = BedForm()
    _room_choices(facility, bed_form)
    room_forms = {r.id: RoomForm(obj=r, prefix=f"room{r.id}") for r in facility.rooms}
    for r in facility.rooms:
        room_forms[r.id].sex.data = r.sex.value
    return render_template(
        "facilities/setup.html",
        facility=facility,
        by_room=by_room,
        rooms=facility.rooms,
        room_form=RoomForm(prefix="new"),
        room_forms=room_forms,
        bed_form=bed_form,
        occ=queries.facility_occupancy(facility.id),
        can_write=current_user.role in WRITERS,
    )


@bp.post("/facilities/<int:facility_id>/rooms")
@role_required(*WRITERS)
def add_room(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = RoomForm(prefix="new")
    valid(form)
    room = services.add_room(facility, form.code.data, form.sex.data, current_user)
    db.session.commit()
    _flash_done(_("已添加房间 %(code)s", code=room.code))
    return redirect(url_for("facilities.setup", facility_id=facility.id), 303)


@bp.post("/facilities/<int:facility_id>/rooms/<int:room_id>")
@role_required(*WRITERS)
def edit_room(facility_id: int, room_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    room = _room_of(facility, room_id)
    form = RoomForm(prefix=f"room{room.id}")
    valid(form)
    services.update_room(room, code=form.code.data, sex=form.sex.data, user=current_user)
    db.session.commit()
    _flash_done(_("已保存房间 %(code)s", code=room.code))
    return redirect(url_for("facilities.setup", facility_id=facility.id), 303)


@bp.post("/facilities/<int:facility_id>/beds")
@role_required(*WRITERS)
def add_bed(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = BedForm()
    _room_choices(facility, form)
    valid(form)
    room_id = _room_id(form.room_id.data)
    room = _room_of(facility, room_id).code if room_id else None
    bed = services.add_bed(facility, form.code.data, form.kind.data, room=room, user=current_user)
    db.session.commit()
    _flash_done(_("已添加床位 %(code)s", code=bed.code))
    return redirect(url_for("facilities.setup", facility_id=facility.id), 303)


@bp.route("/facilities/<int:facility_id>/beds/<int:bed_id>/edit", methods=["GET", "POST"])
@role_required(*WRITERS)
def edit_bed(facility_id: int, bed_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    bed = scoping.get_bed(current_user, bed_id)
    if bed.facility_id != facility.id:
        raise NotFound(_("未找到该床位"))
    form = BedForm(obj=bed if request.method == "GET" else None)
    _room_choices(facility, form)
    if request.method == "POST":
        valid(form)
        services.update_bed(
            bed,
            code=form.code.data,
            kind=form.kind.data,
            room_id=_room_id(form.room_id.data),
            user=current_user,
        )
        db.session.commit()
        _flash_done(_("已保存床位 %(code)s", code=bed.code))
        return redirect(url_for("facilities.setup", facility_id=facility.id), 303)
    form.kind.data = bed.kind.value
    form.room_id.data = str(bed.room_id or 0)
    return render_template("facilities/bed_form.html", facility=facility, bed=bed, form=form)


@bp.app_context_processor
def _nursing():
    """The nursing-bed share against its target, for the occupancy page, the home pages
    and the dashboard panel."""
    from . import breakdowns

    return {
        "nursing_target": breakdowns.NURSING_TARGET,
        "nursing_share": breakdowns.nursing_share,
        "meets_nursing_target": breakdowns.meets_target,
    }
