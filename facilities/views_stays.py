"""The bed page's actions: admit, transfer within the home, leave and return, end a
stay, a bed out of service and back. Thin: form → service → commit → flash → redirect; a
domain error is flashed by the core's handler, with nothing stored."""

from __future__ import annotations

from flask import flash, redirect
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import Invalid
from eldercare.extensions import db

from . import scoping, services
from .forms import (
    AdmitForm,
    DayForm,
    EndForm,
    LeaveForm,
    OutageForm,
    TransferForm,
)
from .pages import back_to, record_id, valid
from .views import WRITERS, bp


@bp.post("/facilities/<int:facility_id>/beds/<int:bed_id>/admit")
@role_required(*WRITERS)
def admit(facility_id: int, bed_id: int):
    bed = scoping.get_bed(current_user, bed_id)
    form = AdmitForm()
    form.person_id.choices = []
    valid(form)
    if not (form.id_number.data or form.person_id.data):
        raise Invalid(_("请选择入住人员，或输入已登记的身份证号"))
    named = scoping.person_named(
        current_user,
        None if form.id_number.data else record_id(form.person_id.data),
        form.id_number.data or None,
        placement=True,
        bed=bed,
    )
    person = named.person
    with scoping.discreet(named):
        services.admit(person, bed, form.start_date.data, current_user)
    db.session.commit()
    flash(_("%(name)s 已入住 %(bed)s", name=person.name, bed=bed.code), "success")
    return redirect(back_to(bed), 303)


@bp.post("/stays/<int:stay_id>/transfer")
@role_required(*WRITERS)
def transfer(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = TransferForm()
    form.bed_id.choices = []
    valid(form)
    new = services.transfer(
        stay, scoping.bed_any(record_id(form.bed_id.data)), form.date.data, current_user
    )
    db.session.commit()
    flash(_("%(name)s 已转至 %(bed)s", name=new.person.name, bed=new.bed.code), "success")
    return redirect(back_to(new), 303)


@bp.post("/stays/<int:stay_id>/leave")
@role_required(*WRITERS)
def leave(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = LeaveForm()
    valid(form)
    services.start_leave(
        stay, form.kind.data, form.start_date.data, form.expected_return.data, current_user
    )
    db.session.commit()
    flash(_("已登记 %(name)s 请假，床位保留", name=stay.person.name), "success")
    return redirect(back_to(stay), 303)


@bp.post("/stays/<int:stay_id>/return")
@role_required(*WRITERS)
def return_(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = DayForm()
    valid(form)
    services.return_from_leave(stay, form.date.data, current_user)
    db.session.commit()
    flash(_("%(name)s 已销假", name=stay.person.name), "success")
    return redirect(back_to(stay), 303)


@bp.post("/stays/<int:stay_id>/end")
@role_required(*WRITERS)
def end(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = EndForm()
    valid(form)
    services.end_stay(stay, form.date.data, form.reason.data, current_user)
    db.session.commit()
    flash(_("%(name)s 已离院", name=stay.person.name), "success")
    return redirect(back_to(stay), 303)


@bp.post("/beds/<int:bed_id>/out-of-service")
@role_required(*WRITERS)
def out_of_service(bed_id: int):
    bed = scoping.get_bed(current_user, bed_id)
    form = OutageForm()
    valid(form)
    services.set_out_of_service(bed, form.date.data, form.reason.data or "", current_user)
    db.session.commit()
    flash(_("床位 %(bed)s 已停用", bed=bed.code), "success")
    return redirect(back_to(bed), 303)


@bp.post("/beds/<int:bed_id>/in-service")
@role_required(*WRITERS)
def in_service(bed_id: int):
    bed = scoping.get_bed(current_user, bed_id)
    form = DayForm()
    valid(form)
    services.back_in_service(bed, form.date.data, current_user)
    db.session.commit()
    flash(_("床位 %(bed)s 已恢复使用", bed=bed.code), "success")
    return redirect(back_to(bed), 303)
