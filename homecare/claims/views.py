"""Claims pages: the list with filters and exports, the upload form, the review page
(totals, exceptions first grouped by reason, overrides, approval), the visit behind a
line and the elder's year statement. On the same blueprint: views_callbacks.py
(call-backs, provider scorecards), views_lifecycle.py (submit, withdraw).
Thin: form → service → commit → flash → redirect."""

from __future__ import annotations

import re
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Person, Role
from eldercare.pagination import page_of
from eldercare.timeutil import Month, local_today

from .. import scoping as hc
from .. import services as hs
from ..models import Enrolment, LedgerEntry, Service, Visit
from . import api, callbacks, decisions, presence, recoveries, services
from .files import ClaimFileInvalid, parse
from .forms import ActionForm, GenerateForm, OverrideForm, UploadForm, choices
from .labels import (
    CALLBACK_REASON_LABELS,
    DECISION_LABELS,
    OUTCOME_LABELS,
    REASON_LABELS,
    SOURCE_LABELS,
    STATUS_BADGES,
    STATUS_LABELS,
    reasons_text,
)
from .models import BIT, CallbackSample, Claim, ClaimLine, ClaimStatus, reasons_of
from .scoping import callback_scope, get_claim, sees_callback_notes

bp = Blueprint("claims", __name__)
OFFICE = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER)
SUBMITTERS = (Role.ADMIN, Role.PROVIDER)
GROUP_SHOWN = 100  # lines shown per reason; the statement (Excel) has them all


@bp.app_context_processor
def _labels():
    return {
        "claim_status": lambda s: str(STATUS_LABELS.get(getattr(s, "value", s), s)),
        "claim_badge": lambda s: STATUS_BADGES.get(getattr(s, "value", s), "off"),
        "claim_decision": lambda s: (
            str(DECISION_LABELS.get(getattr(s, "value", s), s)) if s else "—"
        ),
        "claim_reason": lambda c: str(REASON_LABELS.get(c, c)),
        "claim_source": lambda s: str(SOURCE_LABELS.get(getattr(s, "value", s), s)),
        "callback_outcome": lambda s: (
            str(OUTCOME_LABELS.get(getattr(s, "value", s), s)) if s else "—"
        ),
        "callback_reason": lambda s: str(CALLBACK_REASON_LABELS.get(getattr(s, "value", s), s)),
    }


def _providers():
    return db.session.scalars(hc.providers(current_user)).all()


def _provider_choices(form) -> None:
    form.provider_id.choices = choices((str(p.id), p.name) for p in _providers())


def _last_month() -> str:
    return Month.current().previous().text


@bp.get("/homecare/claims")
@role_required(*OFFICE)
def claims_page():
    a = request.args
    month = a.get("month") if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", a.get("month", "")) else None
    status = a.get("status") if a.get("status") in {s.value for s in ClaimStatus} else None
    q = SimpleNamespace(
        provider_id=int(a["provider_id"]) if a.get("provider_id", "").isdigit() else None,
        month=month,
        status=status,
        year=None,
    )
    stmt = api.filtered_claims(current_user, q)
    if wants_export():
        rows = db.session.scalars(stmt)
        return export_response(
            "claims",
            [
                "编号",
                "服务组织",
                "月份",
                "状态",
                "来源",
                "补报",
                "明细（条）",
                "申报金额",
                "核定金额",
                "核减金额",
            ],
            (
                (
                    c.id,
                    c.provider.name,
                    c.month,
                    str(STATUS_LABELS[c.status.value]),
                    str(SOURCE_LABELS[c.source.value]),
                    c.supplementary,
                    c.line_count,
                    c.claimed_total,
                    c.approved_total,
                    c.rejected_total,
                )
                for c in rows
            ),
        )
    page = page_of(stmt, a)
    upload, generate = UploadForm(month=_last_month()), GenerateForm(month=_last_month())
    _provider_choices(upload)
    _provider_choices(generate)
    return render_template(
        "homecare/claims/list.html",
        page=page,
        providers=_providers(),
        upload=upload,
        generate=generate,
        statuses=list(ClaimStatus),
    )


@bp.post("/homecare/claims/upload")
@role_required(*SUBMITTERS)
def upload():
    form = UploadForm()
    _provider_choices(form)
    problems: list[dict] = []
    if form.validate_on_submit():
        provider = hc.get_provider(current_user, int(form.provider_id.data))
        try:
            month = Month.parse(form.month.data)
            lines = parse(form.file.data.read(), services.service_codes(month.year))
            claim = services.submit_lines(
                provider, month.text, lines, current_user, form.file.data.filename or ""
            )
            db.session.commit()
            flash(_("已提交 %(n)s 条申报明细", n=claim.line_count), "success")
            return redirect(url_for("claims.claim_page", claim_id=claim.id))
        except ClaimFileInvalid as exc:
            db.session.rollback()
            problems = exc.problems
        except DomainError as exc:
            db.session.rollback()
            form.month.errors = [*form.month.errors, exc.message]
    return render_template("homecare/claims/upload.html", form=form, problems=problems), 422


@bp.post("/homecare/claims/generate")
@role_required(*SUBMITTERS)
def generate():
    form = GenerateForm()
    _provider_choices(form)
    if not form.validate_on_submit():
        flash(_("请选择服务组织和月份（YYYY-MM）"), "danger")
        return redirect(url_for("claims.claims_page"))
    provider = hc.get_provider(current_user, int(form.provider_id.data))
    claim = services.generate(provider, form.month.data, current_user)
    db.session.commit()
    flash(_("已按服务记录生成 %(n)s 条申报明细", n=claim.line_count), "success")
    return redirect(url_for("claims.claim_page", claim_id=claim.id))


def _exception_groups(claim: Claim) -> list[tuple[str, int, list]]:
    """Lines the machine did not approve as claimed (or a clerk overrode), grouped by
    their first reason: each group's size and its first GROUP_SHOWN lines, with the
    visit's elder, in one query. A window over the claim's exception lines numbers them
    per group, so that only the lines shown are loaded (loading every exception line of
    a 7,800-line claim took 0.7 s at demo scale 10)."""
    first = sa.case(
        *[(ClaimLine.reason_bits.op("&")(bit) != 0, code) for code, bit in BIT.items()],
        else_="override",
    )
    ranked = (
        sa.select(
            ClaimLine.id,
            first.label("grp"),
            sa.func.row_number().over(partition_by=first, order_by=ClaimLine.line_no).label("n"),
            sa.func.count().over(partition_by=first).label("total"),
        )
        .where(
            ClaimLine.claim_id == claim.id,
            sa.or_(ClaimLine.reason_bits != 0, ClaimLine.override_decision.is_not(None)),
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ClaimLine, ranked.c.grp, ranked.c.total, Person.name, Enrolment.id)
        .join(ranked, ranked.c.id == ClaimLine.id)
        .outerjoin(
            Visit, sa.and_(Visit.id == ClaimLine.visit_id, Visit.provider_id == claim.provider_id)
        )
        .outerjoin(Enrolment, Enrolment.id == Visit.enrolment_id)
        .outerjoin(Person, Person.id == Enrolment.person_id)
        .where(ranked.c.n <= GROUP_SHOWN)
        .order_by(ClaimLine.line_no)
    ).all()
    groups: dict[str, list] = {code: [] for code in BIT}
    groups["override"] = []
    totals: dict[str, int] = {}
    for line, group, total, name, enrolment_id in rows:
        groups[group].append(
            SimpleNamespace(
                line=line,
                name=name,
                enrolment_id=enrolment_id,
                reasons=reasons_of(line.reason_bits),
            )
        )
        totals[group] = total
    return [(k, totals[k], v) for k, v in groups.items() if v]


@bp.get("/homecare/claims/<int:claim_id>")
@role_required(*OFFICE)
def claim_page(claim_id: int):
    claim = get_claim(current_user, claim_id)
    groups = _exception_groups(claim)
    clean = page_of(
        sa.select(ClaimLine)
        .where(
            ClaimLine.claim_id == claim.id,
            ClaimLine.reason_bits == 0,
            ClaimLine.override_decision.is_(None),
        )
        .order_by(ClaimLine.line_no),
        request.args,
    )
    return render_template(
        "homecare/claims/claim.html",
        claim=claim,
        groups=groups,
        clean=clean,
        counts=decisions.exception_counts(claim),
        undecided=decisions.undecided(claim),
        action=ActionForm(),
        held=presence.summary(claim),
        # the first 100 drawn, with their elders; the counts from the database (a claim
        # of 7,800 lines draws some 700, which were all loaded to show 100). A provider
        # sees only those recorded, and only their outcome (scoping.callback_scope).
        samples=callbacks.samples(claim, limit=100, user=current_user),
        sample_counts=callbacks.sample_counts(claim),
        bureau_view=sees_callback_notes(current_user),
        recoveries=recoveries.of_claim(claim),
        reason_labels=REASON_LABELS,
        decisions=[(c.data, c.label.text) for c in OverrideForm().decision],
    )


def _step(claim_id: int, fn, done: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    claim = get_claim(current_user, claim_id)
    fn(claim, current_user)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("claims.claim_page", claim_id=claim.id))


@bp.post("/homecare/claims/<int:claim_id>/reconcile")
@role_required(Role.ADMIN)
def reconcile(claim_id: int):
    return _step(claim_id, services.reconcile, _("对账完成：每条明细已有结论"))


@bp.post("/homecare/claims/<int:claim_id>/approve")
@role_required(Role.ADMIN)
def approve(claim_id: int):
    reason = request.form.get("override_reason", "")[:500]
    return _step(
        claim_id, lambda claim, user: services.approve(claim, user, reason), _("已审批，可以支付")
    )


@bp.post("/homecare/claims/<int:claim_id>/pay")
@role_required(Role.ADMIN)
def pay(claim_id: int):
    return _step(claim_id, services.pay, _("已记录支付"))


@bp.post("/homecare/claims/<int:claim_id>/lines/<int:line_no>")
@role_required(Role.ADMIN)
def override(claim_id: int, line_no: int):
    claim = get_claim(current_user, claim_id)
    form = OverrideForm()
    if not form.validate_on_submit():
        flash(
            _(
                "输入有误：%(e)s",
                e="; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in form.errors.items()),
            ),
            "danger",
        )
    else:
        decisions.override(
            claim,
            line_no,
            form.decision.data,
            form.reason.data or "",
            current_user,
            form.amount.data,
        )
        db.session.commit()
        flash(_("第 %(n)s 条的结论已更改", n=line_no), "success")
    return redirect(url_for("claims.claim_page", claim_id=claim.id, _anchor=f"line-{line_no}"))


@bp.get("/homecare/claims/visits/<int:visit_id>")
@role_required(*OFFICE)
def visit_page(visit_id: int):
    visit = hc.get_visit(current_user, visit_id)
    entries = db.session.scalars(
        sa.select(LedgerEntry).where(LedgerEntry.visit_id == visit.id).order_by(LedgerEntry.id)
    ).all()
    claimed = db.session.execute(
        sa.select(ClaimLine, Claim)
        .join(Claim)
        .where(ClaimLine.visit_id == visit.id, Claim.provider_id == visit.provider_id)
        .order_by(Claim.month, ClaimLine.line_no)
    ).all()
    names = dict(db.session.execute(sa.select(Service.code, Service.name)).all())
    samples = db.session.scalars(
        sa.select(CallbackSample).where(
            CallbackSample.visit_id == visit.id, callback_scope(current_user)
        )
    ).all()
    return render_template(
        "homecare/claims/visit.html",
        visit=visit,
        entries=entries,
        claimed=claimed,
        names=names,
        samples=samples,
        bureau_view=sees_callback_notes(current_user),
        reasons_text=reasons_text,
        reasons_of=reasons_of,
    )


@bp.get("/homecare/enrolments/<int:enrolment_id>/year-statement")
@role_required(*OFFICE)
def year_statement(enrolment_id: int):
    """The elder's year: every visit, its services and what it cost, the subsidy used
    and left — in large type, for the family (and the cheapest fraud check there is)."""
    e = hc.get_enrolment(current_user, enrolment_id)
    led = hs.ledger(e)
    visits = db.session.scalars(
        sa.select(Visit)
        .where(Visit.enrolment_id == e.id, Visit.check_out_at.is_not(None))
        .order_by(Visit.check_in_at)
    ).all()
    reversed_ids = {x.visit_id for x in led.entries if x.kind.value == "reversal"}
    names = {s.code: s.name for s in hs.catalogue(e.year)}
    return render_template(
        "homecare/claims/year_statement.html",
        e=e,
        led=led,
        visits=visits,
        names=names,
        reversed_ids=reversed_ids,
        today=local_today(),
    )
