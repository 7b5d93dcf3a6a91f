"""Transfers between homes (the sending manager asks, the bureau decides) and 五保
placement (the waiting list, the ranked beds, the placement itself)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare import idnumbers
from eldercare import scoping as core_scoping
from eldercare.auth.web import role_required
from eldercare.errors import Invalid
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.pagination import page_of
from eldercare.timeutil import local_today

from . import queries, scoping, services, vacancies
from .forms import (
    DecisionForm,
    PlaceForm,
    TransferRequestForm,
)
from .models import RoomSex, Stay, TransferRequest, TransferStatus
from .pages import back_to, record_id, townships, valid
from .views import BUREAU, STAFF, WRITERS, bp


@bp.get("/placements")
@role_required(*BUREAU)
def placements():
    stmt = queries.waiting_list()
    if wants_export():
        towns = townships()
        return export_response(
            "placements",
            ["编号", "姓名", "身份证号", "乡镇（街道）", "自理能力", "申请日期"],
            (
                (
                    p.id,
                    p.name,
                    idnumbers.mask(p.id_number),
                    towns.get(p.township_code, ""),
                    p.care_level,
                    s.applied_centralized_on,
                )
                for p, s in db.session.execute(stmt)
            ),
        )
    page = page_of(stmt, request.args, scalars=False)
    selected, options = None, []
    pid = request.args.get("person_id", type=int)
    if pid:
        selected = core_scoping.get_person(current_user, pid)
        options = vacancies.placement_options(selected)
    return render_template(
        "facilities/placements.html",
        page=page,
        selected=selected,
        options=options,
        towns=townships(),
        today=local_today(),
        form=PlaceForm(date=local_today()),
    )


@bp.post("/placements")
@role_required(Role.ADMIN)
def place():
    form = PlaceForm()
    valid(form)
    person = core_scoping.get_person(current_user, form.person_id.data)
    stay = services.place(person, scoping.bed_any(form.bed_id.data), form.date.data, current_user)
    db.session.commit()
    flash(
        _(
            "%(name)s 已安置到 %(home)s %(bed)s，供养方式改为集中供养",
            name=person.name,
            home=stay.facility.name,
            bed=stay.bed.code,
        ),
        "success",
    )
    return redirect(url_for("facilities.placements"), 303)


@bp.post("/stays/<int:stay_id>/transfer-request")
@role_required(*WRITERS)
def request_transfer(stay_id: int):
    """The sending manager asks for a move to another home; the bed there is the best
    takeable one for the resident (room sex, nursing type for full care)."""
    stay = scoping.get_stay(current_user, stay_id)
    form = TransferRequestForm()
    form.facility_id.choices = []
    valid(form)
    person = stay.person
    beds = [
        b
        for b in vacancies.vacant_beds(facility_id=record_id(form.facility_id.data))
        if b.room is None or b.room.sex in (RoomSex.MIXED, person.sex.value)
    ]
    if not beds:
        raise Invalid(_("该机构没有适合 %(name)s 的空床位", name=person.name))
    full = person.care_level is not None and person.care_level.value == "full"
    beds.sort(key=lambda b: (b.kind.value != "nursing") if full else (b.kind.value == "nursing"))
    services.request_transfer(stay, beds[0], form.date.data, current_user, form.reason.data or "")
    db.session.commit()
    flash(_("已提交 %(name)s 的转院申请，待民政局审批", name=person.name), "success")
    return redirect(back_to(stay), 303)


@bp.get("/facilities/transfers")
@role_required(*STAFF)
def transfers():
    stmt = (
        sa.select(TransferRequest)
        .join(Stay, Stay.id == TransferRequest.stay_id)
        .where(scoping.facility_clause(current_user, Stay.facility_id))
        .order_by(
            (TransferRequest.status == TransferStatus.PENDING).desc(), TransferRequest.id.desc()
        )
    )
    if wants_export():
        return export_response(
            "transfers",
            ["编号", "姓名", "转出", "转入", "日期", "状态", "原因", "意见"],
            (
                (
                    r.id,
                    r.stay.person.name,
                    r.stay.facility.name,
                    r.to_bed.facility.name,
                    r.on_date,
                    r.status,
                    r.reason,
                    r.decision_note,
                )
                for r in db.session.scalars(stmt)
            ),
        )
    return render_template(
        "facilities/transfers.html", page=page_of(stmt, request.args), form=DecisionForm()
    )


@bp.post("/facilities/transfers/<int:request_id>/<any(approve, reject):decision>")
@role_required(Role.ADMIN)
def decide_transfer(request_id: int, decision: str):
    req = scoping.get_transfer(current_user, request_id)
    form = DecisionForm()
    valid(form)
    if decision == "approve":
        services.approve_transfer(req, current_user, form.note.data or "")
        msg = _(
            "已批准：%(name)s 转入 %(home)s",
            name=req.stay.person.name,
            home=req.to_bed.facility.name,
        )
    else:
        services.reject_transfer(req, current_user, form.note.data or "")
        msg = _("已驳回 %(name)s 的转院申请", name=req.stay.person.name)
    db.session.commit()
    flash(msg, "success")
    return redirect(url_for("facilities.transfers"), 303)
