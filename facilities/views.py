"""Pages: facility list, occupancy dashboard, bed board, a bed's page, census. The bed
page's actions are in views_stays.py; transfers between homes and placement in
views_transfers.py; day-care attendance in views_attendance.py, its register in
views_register.py; what they share in pages.py.

Thin: form → service → commit → flash → redirect. A domain error is flashed and the
user is sent back by the core's error handler, with nothing stored.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare import idnumbers
from eldercare.auth.web import role_required
from eldercare.errors import NotFound
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.pagination import page_of
from eldercare.timeutil import local_today

from . import daycare_figures, queries, scoping, services, vacancies
from .availability import open_outages
from .board import board_page
from .breakdowns import nursing_share
from .forms import (
    END_REASONS,
    AdmitForm,
    DayForm,
    EndForm,
    LeaveForm,
    OutageForm,
    TransferForm,
    TransferRequestForm,
)
from .models import (
    Bed,
    CensusConfirmation,
    Facility,
    FacilityKind,
    TransferRequest,
    TransferStatus,
)
from .pages import townships, valid

bp = Blueprint("facilities", __name__)
STAFF = (Role.ADMIN, Role.AUDITOR, Role.MANAGER)
WRITERS = (Role.ADMIN, Role.MANAGER)
BUREAU = (Role.ADMIN, Role.AUDITOR)
KIND_LABELS = {
    "care_home": _l("敬老院"),
    "day_care": _l("日间照料中心"),
    "private": _l("民办养老机构"),
    "homecare_org": _l("居家养老服务组织"),
}
# Why a stay ended, in words (the history tables showed the stored code, "transferred").
END_REASON_LABELS = dict(END_REASONS) | {"transferred": _l("转床")}


@bp.app_context_processor
def _labels():
    return {
        "facility_kind_label": lambda k: KIND_LABELS.get(getattr(k, "value", k), k),
        "end_reason_label": lambda r: END_REASON_LABELS.get(getattr(r, "value", r), r),
    }


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
    towns = townships()
    if wants_export():
        rows = list(db.session.scalars(stmt))
        occ = queries.occupancy(local_today(), [f.id for f in rows])
        return export_response(
            "facilities",
            [
                "编号",
                "名称",
                "类型",
                "乡镇（街道）",
                "床位",
                "在住",
                "请假",
                "预留",
                "停用",
                "空床",
                "入住率",
            ],
            (
                (
                    f.id,
                    f.name,
                    str(KIND_LABELS[f.kind.value]),
                    towns.get(f.township_code, ""),
                    o.beds,
                    o.occupied,
                    o.held,
                    o.reserved,
                    o.out_of_service,
                    o.available,
                    o.rate,
                )
                for f in rows
                for o in [occ.get(f.id, queries.Occupancy())]
            ),
        )
    page = page_of(stmt, args)
    occ = queries.occupancy(local_today(), [f.id for f in page.items])
    return render_template(
        "facilities/index.html",
        page=page,
        occ=occ,
        towns=towns,
        kinds=KIND_LABELS,
        empty=queries.Occupancy(),
    )


@bp.get("/facilities/occupancy")
@role_required(*BUREAU)
def dashboard():
    from eldercare.stats import page_date, wubao_figures, wubao_trend

    today = page_date(request.args.get("date"), local_today())
    district = queries.district_occupancy(today)
    homes = list(
        db.session.scalars(
            sa.select(Facility)
            .where(Facility.kind == FacilityKind.CARE_HOME)
            .order_by(Facility.name)
        )
    )
    occ = queries.occupancy(today, [f.id for f in homes])
    trend = queries.monthly_trend(12, kind="care_home", until=today)
    # the centralised-support rate beside it, month by month (issue 17.7)
    if wants_export():
        return export_response(
            "occupancy",
            [
                "机构",
                "床位",
                "护理型",
                "护理型占比",
                "在住",
                "请假",
                "预留",
                "空床",
                "停用",
                "入住率",
            ],
            (
                (
                    f.name,
                    o.beds,
                    o.nursing,
                    nursing_share(o),
                    o.occupied,
                    o.held,
                    o.reserved,
                    o.available,
                    o.out_of_service,
                    o.rate,
                )
                for f in homes
                for o in [occ.get(f.id, queries.Occupancy())]
            ),
        )
    return render_template(
        "facilities/dashboard.html",
        district=district,
        homes=homes,
        occ=occ,
        trend_json=json.dumps(trend),
        wubao=wubao_figures(today),
        wubao_points=wubao_trend(today),
        kinds=KIND_LABELS,
        empty=queries.Occupancy(),
        today=today,
        daycare=daycare_figures.month_table(today),
    )


@bp.get("/facilities/<int:facility_id>")
@role_required(*STAFF)
def board(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    today = local_today()
    census = db.session.scalar(
        sa.select(CensusConfirmation).where(
            CensusConfirmation.facility_id == facility.id, CensusConfirmation.day == today
        )
    )
    if wants_export():
        return export_response(
            f"beds-{facility.id}",
            ["房间", "床位", "类型", "状态", "入住人员", "入住日期"],
            (
                (
                    room.code if room else "",
                    bed.code,
                    bed.kind,
                    status,
                    stay.person.name if stay else "",
                    stay.start_date if stay else None,
                )
                for room, beds in queries.board(facility, today)
                for bed, stay, status in beds
            ),
        )
    rooms, page = board_page(facility, today, request.args)
    since = queries.home_since([stay for _room, beds in rooms for _bed, stay, _s in beds if stay])
    return render_template(
        "facilities/board.html",
        facility=facility,
        rooms=rooms,
        page=page,
        since=since,
        occ=queries.facility_occupancy(facility.id, today),
        census=census,
        today=today,
        overdue=queries.overdue_leaves(facility.id, today),
        census_form=DayForm(),
        can_write=current_user.role in WRITERS,
        towns=townships(),
        outages=open_outages(facility.id),
    )


def _vacant_in(facility: Facility) -> list[Bed]:
    return vacancies.vacant_beds(kinds=tuple(FacilityKind), facility_id=facility.id)


@bp.get("/facilities/<int:facility_id>/beds/<int:bed_id>")
@role_required(*STAFF)
def bed(facility_id: int, bed_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    bed = scoping.get_bed(current_user, bed_id)
    if bed.facility_id != facility.id:
        raise NotFound("未找到该床位")
    today = local_today()
    stay = queries.who_was_in_bed(bed, today)
    status = queries.bed_status(bed, stay, today)
    admit_form = AdmitForm(start_date=today)
    if status in ("available", "reserved") and current_user.role in WRITERS:
        waiting = db.session.execute(queries.waiting_list().limit(200)).all()
        admit_form.person_id.choices = [("", "—")] + [
            (str(p.id), f"{p.name}（{idnumbers.mask(p.id_number)}）") for p, _s in waiting
        ]
    transfer_form = TransferForm(date=today)
    transfer_form.bed_id.choices = [
        (
            str(b.id),
            f"{b.room.code + ' · ' if b.room else ''}{b.code}"
            f"（{'护理型' if b.kind == 'nursing' else '普通'}）",
        )
        for b in _vacant_in(facility)
    ]
    request_form = TransferRequestForm(date=today)
    if stay is not None and facility.kind == FacilityKind.CARE_HOME:
        request_form.facility_id.choices = [
            (str(f.id), f.name)
            for f in db.session.scalars(
                sa.select(Facility)
                .where(Facility.kind == FacilityKind.CARE_HOME, Facility.id != facility.id)
                .order_by(Facility.name)
            )
        ]
    return render_template(
        "facilities/bed.html",
        facility=facility,
        bed=bed,
        stay=stay,
        status=status,
        today=today,
        history=queries.bed_history(bed),
        admit_form=admit_form,
        transfer_form=transfer_form,
        since=queries.home_since([stay]).get(stay.id) if stay else None,
        request_form=request_form,
        leave_form=LeaveForm(start_date=today, expected_return=today),
        day_form=DayForm(date=today),
        end_form=EndForm(date=today),
        outage_form=OutageForm(date=today),
        outage=open_outages(facility.id).get(bed.id) if bed.out_of_service else None,
        can_write=current_user.role in WRITERS,
    )


@bp.post("/facilities/<int:facility_id>/census")
@role_required(*WRITERS)
def census(facility_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    form = DayForm()
    if not form.date.data:
        form.date.data = local_today()
    valid(form)
    services.confirm_census(facility, form.date.data, current_user)
    db.session.commit()
    flash(_("已确认 %(d)s 的床位情况", d=form.date.data.isoformat()), "success")
    return redirect(url_for("facilities.board", facility_id=facility.id), 303)


def dashboard_panel() -> dict:
    """For the bureau's dashboard: care-home occupancy, waiting applicants, pending
    transfers and overdue leaves, each linking to its list."""
    today = local_today()
    home = queries.district_occupancy(today).get("care_home", queries.Occupancy())
    waiting = (
        db.session.scalar(sa.select(sa.func.count()).select_from(queries.waiting_list().subquery()))
        or 0
    )
    pending = (
        db.session.scalar(
            sa.select(sa.func.count(TransferRequest.id)).where(
                TransferRequest.status == TransferStatus.PENDING
            )
        )
        or 0
    )
    return {
        "fac_home": home,
        "fac_waiting": waiting,
        "fac_pending": pending,
        "fac_overdue": len(queries.overdue_leaves(None, today)),
    }
