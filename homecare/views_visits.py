"""Home-care pages: the visits with their exceptions, filtered as the API filters them,
and their export (plain columns in batches: 295,000 visits at demo scale 10)."""

from __future__ import annotations

import re
from collections import defaultdict

import sqlalchemy as sa
from flask import render_template, request
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.exports import export_response, iter_batches, wants_export
from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.pagination import page_of
from eldercare.timeutil import local_today

from . import api_scans, figures, services
from . import scoping as hc
from .models import Enrolment, Provider, Visit, VisitService
from .views import EXCEPTION_LABELS, OFFICE, STATUS_LABELS, bp, list_filters


@bp.get("/homecare/visits")
@role_required(*OFFICE)
def visits():
    args = list_filters()
    if args.status not in (None, "open", "completed", "flagged"):
        args.status = None
    if args.month and not re.fullmatch(r"(19|20|21)\d\d-(0[1-9]|1[0-2])", args.month):
        args.month = None
    stmt = api_scans.filtered_visits(current_user, args)
    if wants_export():
        return export_response(
            "visits",
            [
                "服务编号",
                "老人",
                "服务组织",
                "服务人员",
                "开始",
                "结束",
                "状态",
                "金额",
                "补贴支付",
                "自付",
                "服务项目",
                "异常",
            ],
            _visit_rows(stmt),
        )
    page = page_of(stmt, request.args)
    return render_template(
        "homecare/visits.html",
        page=page,
        exceptions=EXCEPTION_LABELS,
        providers=db.session.scalars(hc.providers(current_user)).all(),
        manual=figures.manual_counts(local_today().year),
    )


def _visit_rows(stmt: sa.Select):
    """The visits export's rows from plain columns, 1,000 visits at a time with one query
    for their services. Loading each visit as an object with its elder, provider, worker
    and services cost about a millisecond a row: five minutes for the 295,000 visits of
    demo scale 10 (bench/README.md)."""
    columns = (
        stmt.with_only_columns(
            Visit.id,
            Person.name,
            Provider.name.label("provider"),
            User.display_name.label("worker"),
            Visit.check_in_at,
            Visit.check_out_at,
            Visit.status,
            Visit.amount,
            Visit.subsidised,
            Visit.self_paid,
            Visit.exceptions,
        )
        .join(Enrolment, Enrolment.id == Visit.enrolment_id)
        .join(Person, Person.id == Enrolment.person_id)
        .join(Provider, Provider.id == Enrolment.provider_id)
        .outerjoin(User, User.id == Visit.worker_id)
    )
    status = {k: str(v) for k, v in STATUS_LABELS.items()}
    labels = {k: str(v) for k, v in EXCEPTION_LABELS.items()}
    names = services.service_names()
    for batch in iter_batches(columns, Visit.id):
        lines = defaultdict(list)
        for visit_id, code, quantity in db.session.execute(
            sa.select(VisitService.visit_id, VisitService.service_code, VisitService.quantity)
            .where(VisitService.visit_id.in_([r.id for r in batch]))
            .order_by(VisitService.id)
        ):
            lines[visit_id].append(f"{names.get(code, code)}×{quantity}")
        for r in batch:
            yield (
                r.id,
                r.name,
                r.provider,
                r.worker,
                r.check_in_at,
                r.check_out_at,
                status[r.status.value],
                r.amount,
                r.subsidised,
                r.self_paid,
                "、".join(lines[r.id]),
                "、".join(labels.get(c, c) for c in r.exceptions or []),
            )
