"""Pages: facility list, bed board, bed actions, placement, occupancy dashboard, attendance.

Thin: form → service → commit → flash → redirect. A domain error is flashed and the
user is sent back by the core's error handler, with nothing stored.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare import idnumbers
from eldercare import scoping as core_scoping
from eldercare.auth.web import role_required
from eldercare.errors import Invalid, NotFound
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Region, Role
from eldercare.pagination import page_of
from eldercare.timeutil import LOCAL, local_today

from . import queries, scoping, services
from .forms import (
    END_REASONS,
    AdmitForm,
    AttendanceForm,
    DayForm,
    DecisionForm,
    EndForm,
    LeaveForm,
    OutageForm,
    PlaceForm,
    TransferForm,
    TransferRequestForm,
)
from .models import (
    Attendance,
    Bed,
    CensusConfirmation,
    Facility,
    FacilityKind,
    RoomSex,
    Stay,
    TransferRequest,
    TransferStatus,
)

bp = Blueprint("facilities", __name__)
STAFF = (Role.ADMIN, Role.AUDITOR, Role.MANAGER)
WRITERS = (Role.ADMIN, Role.MANAGER)
BUREAU = (Role.ADMIN, Role.AUDITOR)
KIND_LABELS = {"care_home": _l("敬老院"), "day_care": _l("日间照料中心"),
               "private": _l("民办养老机构"), "homecare_org": _l("居家养老服务组织")}
# Why a stay ended, in words (the history tables showed the stored code, "transferred").
END_REASON_LABELS = dict(END_REASONS) | {"transferred": _l("转床")}


def _townships() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Region.code, Region.name)
                                   .where(Region.level == "township")).all())


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    """Out of scope is a plain 404 page here, never a hint that the record exists."""
    db.session.rollback()
    return render_template("error.html", code=404, message=exc.message), 404


@bp.app_context_processor
def _labels():
    return {"facility_kind_label": lambda k: KIND_LABELS.get(getattr(k, "value", k), k),
            "end_reason_label": lambda r: END_REASON_LABELS.get(getattr(r, "value", r), r)}


@bp.get("/facilities")
@role_required(*STAFF)
def index():
    args = request.args
    stmt = scoping.facilities(current_user).order_by(Facility.kind, Facility.name)
    if args.get("kind"):
        stmt = stmt.where(Facility.kind == args["kind"])
    if args.get("township"):
        stmt = stmt.where(Facility.township_code == args["township"])
    if args.get("q"):
        stmt = stmt.where(Facility.name.contains(args["q"], autoescape=True))
    towns = _townships()
    if wants_export():
        rows = list(db.session.scalars(stmt))
        occ = queries.occupancy(local_today(), [f.id for f in rows])
        return export_response(
            "facilities", ["编号", "名称", "类型", "乡镇（街道）", "床位", "在住", "请假", "停用",
                           "空床", "入住率"],
            ((f.id, f.name, str(KIND_LABELS[f.kind.value]), towns.get(f.township_code, ""),
              o.beds, o.occupied, o.held, o.out_of_service, o.available, o.rate)
             for f in rows for o in [occ.get(f.id, queries.Occupancy())]))
    page = page_of(stmt, args)
    occ = queries.occupancy(local_today(), [f.id for f in page.items])
    return render_template("facilities/index.html", page=page, occ=occ, towns=towns,
                           kinds=KIND_LABELS, empty=queries.Occupancy())


@bp.get("/facilities/occupancy")
@role_required(*BUREAU)
def dashboard():
    from eldercare.stats import page_date, wubao_figures, wubao_trend

    today = page_date(request.args.get("date"), local_today())
    district = queries.district_occupancy(today)
    homes = list(db.session.scalars(sa.select(Facility).where(
        Facility.kind == FacilityKind.CARE_HOME).order_by(Facility.name)))
    occ = queries.occupancy(today, [f.id for f in homes])
    trend = queries.monthly_trend(12, kind="care_home", until=today)
    # the centralised-support rate beside it, month by month (issue 17.7)
    if wants_export():
        return export_response(
            "occupancy", ["机构", "床位", "护理型", "在住", "请假", "空床", "入住率"],
            ((f.name, o.beds, o.nursing, o.occupied, o.held, o.available, o.rate)
             for f in homes for o in [occ.get(f.id, queries.Occupancy())]))
    return render_template("facilities/dashboard.html", district=district, homes=homes, occ=occ,
                           trend_json=json.dumps(trend), wubao=wubao_figures(today),
                           wubao_points=wubao_trend(today),
                           kinds=KIND_LABELS, empty=queries.Occupancy(), today=today)


@bp.get("/facilities/<int:facility_id>")
@role_required(*STAFF)
def board(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    today = local_today()
    census = db.session.scalar(sa.select(CensusConfirmation).where(
        CensusConfirmation.facility_id == facility.id, CensusConfirmation.day == today))
    if wants_export():
        return export_response(
            f"beds-{facility.id}", ["房间", "床位", "类型", "状态", "入住人员", "入住日期"],
            ((room.code if room else "", bed.code, bed.kind, status,
              stay.person.name if stay else "", stay.start_date if stay else None)
             for room, beds in queries.board(facility, today) for bed, stay, status in beds))
    rooms = queries.board(facility, today)
    since = queries.home_since([stay for _room, beds in rooms for _bed, stay, _s in beds if stay])
    return render_template(
        "facilities/board.html", facility=facility, rooms=rooms, since=since,
        occ=queries.facility_occupancy(facility.id, today), census=census, today=today,
        overdue=queries.overdue_leaves(facility.id, today), census_form=DayForm(),
        can_write=current_user.role in WRITERS, towns=_townships())


def _vacant_in(facility: Facility) -> list[Bed]:
    return queries.vacant_beds(kinds=tuple(FacilityKind), facility_id=facility.id)


@bp.get("/facilities/<int:facility_id>/beds/<int:bed_id>")
@role_required(*STAFF)
def bed(facility_id: int, bed_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    bed = scoping.get_bed(current_user, bed_id)
    if bed.facility_id != facility.id:
        abort(404)
    today = local_today()
    stay = queries.who_was_in_bed(bed, today)
    status = queries.bed_status(bed, stay, today)
    admit_form = AdmitForm(start_date=today)
    if status in ("available", "reserved") and current_user.role in WRITERS:
        waiting = db.session.execute(queries.waiting_list().limit(200)).all()
        admit_form.person_id.choices = [("", "—")] + [
            (str(p.id), f"{p.name}（{idnumbers.mask(p.id_number)}）") for p, _s in waiting]
    transfer_form = TransferForm(date=today)
    transfer_form.bed_id.choices = [(str(b.id), f"{b.room.code + ' · ' if b.room else ''}{b.code}"
                                     f"（{'护理型' if b.kind == 'nursing' else '普通'}）")
                                    for b in _vacant_in(facility)]
    request_form = TransferRequestForm(date=today)
    if stay is not None and facility.kind == FacilityKind.CARE_HOME:
        request_form.facility_id.choices = [
            (str(f.id), f.name) for f in db.session.scalars(
                sa.select(Facility).where(Facility.kind == FacilityKind.CARE_HOME,
                                          Facility.id != facility.id).order_by(Facility.name))]
    return render_template(
        "facilities/bed.html", facility=facility, bed=bed, stay=stay, status=status, today=today,
        history=queries.bed_history(bed), admit_form=admit_form, transfer_form=transfer_form,
        since=queries.home_since([stay]).get(stay.id) if stay else None,
        request_form=request_form,
        leave_form=LeaveForm(start_date=today, expected_return=today), day_form=DayForm(date=today),
        end_form=EndForm(date=today), outage_form=OutageForm(date=today),
        can_write=current_user.role in WRITERS)


def _back(stay_or_bed) -> str:
    bed_id = stay_or_bed.bed_id if isinstance(stay_or_bed, Stay) else stay_or_bed.id
    return url_for("facilities.board", facility_id=stay_or_bed.facility_id) + f"#bed-{bed_id}"


def _int(value) -> int:
    """A record id typed or picked in a form; Invalid (flashed) for anything else."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 12:
        raise Invalid(_("请选择有效的选项"))
    return int(text)


def _day_arg(name: str = "day"):
    try:
        return date.fromisoformat(request.args.get(name) or "") if request.args.get(name) \
            else local_today()
    except ValueError:
        return local_today()


def _valid(form) -> None:
    if not form.validate_on_submit():
        msgs = "；".join(f"{getattr(form, k).label.text}：{'，'.join(v)}"
                        for k, v in form.errors.items())
        raise Invalid(msgs or _("输入有误"))


@bp.post("/facilities/<int:facility_id>/beds/<int:bed_id>/admit")
@role_required(*WRITERS)
def admit(facility_id: int, bed_id: int):
    bed = scoping.get_bed(current_user, bed_id)
    form = AdmitForm()
    form.person_id.choices = []
    _valid(form)
    if not (form.id_number.data or form.person_id.data):
        raise Invalid(_("请选择入住人员，或输入已登记的身份证号"))
    named = scoping.person_named(
        current_user, None if form.id_number.data else _int(form.person_id.data),
        form.id_number.data or None, placement=True, bed=bed)
    person = named.person
    with scoping.discreet(named):
        services.admit(person, bed, form.start_date.data, current_user)
    db.session.commit()
    flash(_("%(name)s 已入住 %(bed)s", name=person.name, bed=bed.code), "success")
    return redirect(_back(bed), 303)


@bp.post("/stays/<int:stay_id>/transfer")
@role_required(*WRITERS)
def transfer(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = TransferForm()
    form.bed_id.choices = []
    _valid(form)
    new = services.transfer(stay, scoping.bed_any(_int(form.bed_id.data)), form.date.data,
                            current_user)
    db.session.commit()
    flash(_("%(name)s 已转至 %(bed)s", name=new.person.name, bed=new.bed.code), "success")
    return redirect(_back(new), 303)


@bp.post("/stays/<int:stay_id>/leave")
@role_required(*WRITERS)
def leave(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = LeaveForm()
    _valid(form)
    services.start_leave(stay, form.kind.data, form.start_date.data, form.expected_return.data,
                         current_user)
    db.session.commit()
    flash(_("已登记 %(name)s 请假，床位保留", name=stay.person.name), "success")
    return redirect(_back(stay), 303)


@bp.post("/stays/<int:stay_id>/return")
@role_required(*WRITERS)
def return_(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = DayForm()
    _valid(form)
    services.return_from_leave(stay, form.date.data, current_user)
    db.session.commit()
    flash(_("%(name)s 已销假", name=stay.person.name), "success")
    return redirect(_back(stay), 303)


@bp.post("/stays/<int:stay_id>/end")
@role_required(*WRITERS)
def end(stay_id: int):
    stay = scoping.get_stay(current_user, stay_id)
    form = EndForm()
    _valid(form)
    services.end_stay(stay, form.date.data, form.reason.data, current_user)
    db.session.commit()
    flash(_("%(name)s 已离院", name=stay.person.name), "success")
    return redirect(_back(stay), 303)


@bp.post("/beds/<int:bed_id>/out-of-service")
@role_required(*WRITERS)
def out_of_service(bed_id: int):
    bed = scoping.get_bed(current_user, bed_id)
    form = OutageForm()
    _valid(form)
    services.set_out_of_service(bed, form.date.data, form.reason.data or "", current_user)
    db.session.commit()
    flash(_("床位 %(bed)s 已停用", bed=bed.code), "success")
    return redirect(_back(bed), 303)


@bp.post("/beds/<int:bed_id>/in-service")
@role_required(*WRITERS)
def in_service(bed_id: int):
    bed = scoping.get_bed(current_user, bed_id)
    form = DayForm()
    _valid(form)
    services.back_in_service(bed, form.date.data, current_user)
    db.session.commit()
    flash(_("床位 %(bed)s 已恢复使用", bed=bed.code), "success")
    return redirect(_back(bed), 303)


@bp.post("/facilities/<int:facility_id>/census")
@role_required(*WRITERS)
def census(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = DayForm()
    if not form.date.data:
        form.date.data = local_today()
    _valid(form)
    services.confirm_census(facility, form.date.data, current_user)
    db.session.commit()
    flash(_("已确认 %(d)s 的床位情况", d=form.date.data.isoformat()), "success")
    return redirect(url_for("facilities.board", facility_id=facility.id), 303)


@bp.get("/placements")
@role_required(*BUREAU)
def placements():
    stmt = queries.waiting_list()
    if wants_export():
        towns = _townships()
        return export_response(
            "placements", ["编号", "姓名", "身份证号", "乡镇（街道）", "自理能力", "申请日期"],
            ((p.id, p.name, idnumbers.mask(p.id_number), towns.get(p.township_code, ""),
              p.care_level, s.applied_centralized_on) for p, s in db.session.execute(stmt)))
    page = page_of(stmt, request.args, scalars=False)
    selected, options = None, []
    pid = request.args.get("person_id", type=int)
    if pid:
        selected = core_scoping.get_person(current_user, pid)
        options = queries.placement_options(selected)
    return render_template("facilities/placements.html", page=page, selected=selected,
                           options=options, towns=_townships(), today=local_today(),
                           form=PlaceForm(date=local_today()))


@bp.post("/placements")
@role_required(Role.ADMIN)
def place():
    form = PlaceForm()
    _valid(form)
    person = core_scoping.get_person(current_user, form.person_id.data)
    stay = services.place(person, scoping.bed_any(form.bed_id.data), form.date.data,
                          current_user)
    db.session.commit()
    flash(_("%(name)s 已安置到 %(home)s %(bed)s，供养方式改为集中供养", name=person.name,
            home=stay.facility.name, bed=stay.bed.code), "success")
    return redirect(url_for("facilities.placements"), 303)


@bp.route("/facilities/<int:facility_id>/attendance", methods=["GET", "POST"])
@role_required(*STAFF)
def attendance(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    day = _day_arg()
    form = AttendanceForm()
    if request.method == "POST":
        if current_user.role not in WRITERS:
            abort(403)
        _valid(form)
        raw = form.id_number.data.strip()
        # A short run of digits is a person's id (a regular of the centre), else a number.
        by_id = raw.isdigit() and len(raw) < 10
        named = scoping.person_named(current_user, int(raw) if by_id else None,
                                     None if by_id else raw)
        person = named.person
        now = datetime.now(LOCAL)
        with scoping.discreet(named):
            services.record_attendance(facility, person, local_today(),
                                       now if form.action.data == "arrive" else None,
                                       now if form.action.data == "leave" else None,
                                       current_user)
        db.session.commit()
        flash(_("已登记 %(name)s", name=person.name), "success")
        return redirect(url_for("facilities.attendance", facility_id=facility.id), 303)
    stmt = (sa.select(Attendance).where(Attendance.facility_id == facility.id,
                                        Attendance.day == day).order_by(Attendance.arrived_at))
    if wants_export():
        return export_response(
            f"attendance-{facility.id}-{day.isoformat()}", ["姓名", "日期", "到达", "离开"],
            ((a.person.name, a.day, a.arrived_at, a.left_at) for a in db.session.scalars(stmt)))
    page = page_of(stmt, request.args)
    return render_template("facilities/attendance.html", facility=facility, page=page, day=day,
                           form=form, can_write=current_user.role in WRITERS)


@bp.post("/stays/<int:stay_id>/transfer-request")
@role_required(*WRITERS)
def request_transfer(stay_id: int):
    """The sending manager asks for a move to another home; the bed there is the best
    takeable one for the resident (room sex, nursing type for full care)."""
    stay = scoping.get_stay(current_user, stay_id)
    form = TransferRequestForm()
    form.facility_id.choices = []
    _valid(form)
    person = stay.person
    beds = [b for b in queries.vacant_beds(facility_id=_int(form.facility_id.data))
            if b.room is None or b.room.sex in (RoomSex.MIXED, person.sex.value)]
    if not beds:
        raise Invalid(_("该机构没有适合 %(name)s 的空床位", name=person.name))
    full = person.care_level is not None and person.care_level.value == "full"
    beds.sort(key=lambda b: (b.kind.value != "nursing") if full else (b.kind.value == "nursing"))
    services.request_transfer(stay, beds[0], form.date.data, current_user, form.reason.data or "")
    db.session.commit()
    flash(_("已提交 %(name)s 的转院申请，待民政局审批", name=person.name), "success")
    return redirect(_back(stay), 303)


@bp.get("/facilities/transfers")
@role_required(*STAFF)
def transfers():
    stmt = (sa.select(TransferRequest).join(Stay, Stay.id == TransferRequest.stay_id)
            .where(scoping.facility_clause(current_user, Stay.facility_id))
            .order_by((TransferRequest.status == TransferStatus.PENDING).desc(),
                      TransferRequest.id.desc()))
    if wants_export():
        return export_response(
            "transfers", ["编号", "姓名", "转出", "转入", "日期", "状态", "原因", "意见"],
            ((r.id, r.stay.person.name, r.stay.facility.name, r.to_bed.facility.name,
              r.on_date, r.status, r.reason, r.decision_note) for r in db.session.scalars(stmt)))
    return render_template("facilities/transfers.html", page=page_of(stmt, request.args),
                           form=DecisionForm())


@bp.post("/facilities/transfers/<int:request_id>/<any(approve, reject):decision>")
@role_required(Role.ADMIN)
def decide_transfer(request_id: int, decision: str):
    req = scoping.get_transfer(current_user, request_id)
    form = DecisionForm()
    _valid(form)
    if decision == "approve":
        services.approve_transfer(req, current_user, form.note.data or "")
        msg = _("已批准：%(name)s 转入 %(home)s", name=req.stay.person.name,
                home=req.to_bed.facility.name)
    else:
        services.reject_transfer(req, current_user, form.note.data or "")
        msg = _("已驳回 %(name)s 的转院申请", name=req.stay.person.name)
    db.session.commit()
    flash(msg, "success")
    return redirect(url_for("facilities.transfers"), 303)


def dashboard_panel() -> dict:
    """For the bureau's dashboard: care-home occupancy, waiting applicants, pending
    transfers and overdue leaves, each linking to its list."""
    today = local_today()
    home = queries.district_occupancy(today).get("care_home", queries.Occupancy())
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(
        queries.waiting_list().subquery())) or 0
    pending = db.session.scalar(sa.select(sa.func.count(TransferRequest.id)).where(
        TransferRequest.status == TransferStatus.PENDING)) or 0
    return {"fac_home": home, "fac_waiting": waiting, "fac_pending": pending,
            "fac_overdue": len(queries.overdue_leaves(None, today))}
