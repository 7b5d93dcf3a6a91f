"""Claims pages, call-backs (电话回访) and provider scorecards: the samples to call with
their export, the bureau recording an outcome, each provider's months scored (as the
API's /providers/<id>/scorecard). Thin: form → service → commit → flash → redirect."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.exports import export_response, iter_rows, wants_export
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.pagination import page_of
from eldercare.timeutil import local_today

from .. import scoping as hc
from . import callbacks, scorecards
from .forms import OutcomeForm
from .labels import CALLBACK_REASON_LABELS, OUTCOME_LABELS
from .models import CallbackSample
from .scoping import callback_scope, get_callback
from .views import OFFICE, bp


@bp.get("/homecare/callbacks")
@role_required(Role.ADMIN, Role.AUDITOR)
def callbacks_page():
    pending = request.args.get("show") != "all"
    stmt = sa.select(CallbackSample).where(callback_scope(current_user))
    if pending:
        # Not yet called back means not recorded (a CHECK ties the two), so the newest
        # first is an index walk that stops at the page's 50; sorting by "recorded"
        # first made the database join and sort every sample of every month.
        stmt = stmt.where(CallbackSample.outcome.is_(None)).order_by(CallbackSample.id.desc())
    else:
        stmt = stmt.order_by(CallbackSample.recorded_at.is_not(None), CallbackSample.id.desc())
    if wants_export():
        return export_response(
            "callbacks",
            ["编号", "服务记录", "老人", "服务组织", "抽取方式", "结果", "说明"],
            (
                (
                    s.id,
                    s.visit_id,
                    s.visit.enrolment.person.name,
                    s.visit.enrolment.provider.name,
                    str(CALLBACK_REASON_LABELS[s.reason.value]),
                    str(OUTCOME_LABELS[s.outcome.value]) if s.outcome else "",
                    s.note,
                )
                for s in iter_rows(stmt, CallbackSample.id)
            ),
        )  # streamed, 1,000 at a time
    page = page_of(stmt, request.args)
    return render_template(
        "homecare/claims/callbacks.html", page=page, pending=pending, form=OutcomeForm()
    )


@bp.post("/homecare/callbacks/<int:sample_id>")
@role_required(Role.ADMIN)
def record_callback(sample_id: int):
    form = OutcomeForm()
    sample = get_callback(current_user, sample_id)
    if form.validate_on_submit():
        callbacks.record_outcome(sample, form.outcome.data, form.note.data or "", current_user)
        db.session.commit()
        flash(_("回访结果已记录"), "success")
    return redirect(request.referrer or url_for("claims.callbacks_page"))


@bp.get("/homecare/scorecards")
@role_required(*OFFICE)
def scorecards_page():
    year = request.args.get("year", "")
    year_n = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else local_today().year
    cards = [
        scorecards.scorecard(p, year_n) for p in db.session.scalars(hc.providers(current_user))
    ]
    if wants_export():
        return export_response(
            "scorecards",
            [
                "服务组织",
                "月份",
                "服务次数",
                "扫码占比",
                "申报明细",
                "通过占比",
                "回访",
                "回访确认率",
                "未服务",
                "每百次异常",
            ],
            (
                (
                    c.provider.name,
                    m.month,
                    m.visits,
                    m.scan_share,
                    m.lines,
                    m.approved_share,
                    m.callbacks,
                    m.confirmation_rate,
                    m.not_delivered,
                    m.exceptions_per_100,
                )
                for c in cards
                for m in c.months
            ),
        )
    charts = {
        c.provider.id: scorecards.scorecard_json(c.provider, year_n, c)["months"] for c in cards
    }
    return render_template(
        "homecare/claims/scorecards.html", cards=cards, year=year_n, charts=charts
    )
