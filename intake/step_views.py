"""The page of one application: its steps done and to do, each with its deadline, and
the form of the next step for the role that does it (township: check, notice, plan,
withdraw; bureau: decide, place, enrol). Routes on the intake blueprint."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.people.forms import choices
from eldercare.selfcare import ITEMS
from eldercare.templating import LABELS
from eldercare.timeutil import local_today
from homecare import services as homecare
from homecare.models import Provider, ProviderTownship

from . import services
from .care import PlanLine
from .forms import (
    CheckForm,
    DecideForm,
    EnrolForm,
    NoticeForm,
    PlaceForm,
    PlanForm,
    WithdrawForm,
)
from .models import OPEN, Application, Kind, Status
from .serializers import overdue
from .views import ADMIN, DESK, READERS, STATUS_LABELS, _errors, _get, _villages, bp, townships

# --- one application ----------------------------------------------------------------------


def _forms(app: Application) -> dict:
    today = local_today()
    check = CheckForm(formdata=None, on=today)
    check.services.choices = choices([(s.code, s.name) for s in homecare.catalogue(app.year)])
    providers = db.session.execute(
        sa.select(Provider.id, Provider.name)
        .join(ProviderTownship)
        .where(ProviderTownship.township_code == app.township_code)
        .order_by(Provider.name)
    ).all()
    enrol = EnrolForm(formdata=None, agreed_on=today)
    enrol.provider_id.choices = choices(providers)
    return {
        "check": check,
        "notice": NoticeForm(formdata=None, start=today),
        "plan": PlanForm(formdata=None, on=today),
        "decide": DecideForm(formdata=None, on=today),
        "enrol": enrol,
        "withdraw": WithdrawForm(formdata=None, on=today),
        "place": PlaceForm(formdata=None),
    }


STEP_LABELS = {
    "receive": _l("受理"),
    "check": _l("调查核实与六项评估"),
    "notice": _l("村（社区）公示7天"),
    "plan": _l("服务计划"),
    "decide": _l("民政局决定"),
    "place": _l("轮候后获得名额"),
    "enrol": _l("签订服务协议、登记服务组织"),
    "withdraw": _l("撤回"),
}
EXPECTED = {
    Kind.TEKUN: ("receive", "check", "notice", "decide"),
    Kind.HOMECARE: ("receive", "check", "plan", "decide", "enrol"),
}


def timeline(app: Application) -> list[dict]:
    """The steps of the application's kind, done or to do, each with its deadline; the
    next one carries the application's current deadline."""
    done = {s.step.value: s for s in app.steps}
    names = list(EXPECTED[app.kind])
    if "place" in done or app.status == Status.WAITING:
        names.insert(names.index("enrol"), "place")
    if "withdraw" in done:
        names = [n for n in names if n in done] + ["withdraw"]
    out, next_found = [], False
    for name in names:
        row = done.get(name)
        is_next = row is None and not next_found and app.status in (*OPEN, Status.APPROVED)
        next_found = next_found or is_next
        out.append(
            {
                "step": name,
                "label": STEP_LABELS[name],
                "row": row,
                "next": is_next,
                "due": row.due if row is not None else (app.due if is_next else None),
            }
        )
    return out


def _page(app: Application, forms: dict | None = None, status: int = 200):
    base = _forms(app)
    base.update(forms or {})
    names = townships()
    catalogue = homecare.catalogue(app.year)
    return render_template(
        "intake/show.html",
        app=app,
        forms=base,
        names=names,
        labels=STATUS_LABELS,
        timeline=timeline(app),
        step_labels=STEP_LABELS,
        villages=_villages([app.village_code]),
        today=local_today(),
        items=ITEMS,
        catalogue=catalogue,
        overdue=overdue(app),
        desk=current_user.role in DESK,
        admin=current_user.role == Role.ADMIN,
        subsidy=homecare.subsidy_for(app.year),
        plan_values=request.form if request.method == "POST" else {},
    ), status


@bp.get("/applications/<int:application_id>")
@role_required(*READERS)
def show(application_id: int):
    return _page(_get(application_id))


def _done(app: Application, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("intake.show", application_id=app.id), 303)


def _step(application_id: int, key: str, form, run, fields: dict[str, str], message):
    """Run a step from its form: the service, commit, back to the application; on an
    error the application's page again with the error under its field (422)."""
    app = _get(application_id)
    if form.validate_on_submit():
        try:
            run(app)
            return _done(app, message(app))
        except DomainError as exc:
            db.session.rollback()
            app = _get(application_id)
            _errors(form, exc, fields, default=next(iter(fields.values()), None))
    return _page(app, {key: form}, 422)


@bp.post("/applications/<int:application_id>/check")
@role_required(*DESK)
def check(application_id: int):
    form = CheckForm()
    form.services.choices = choices([(c, c) for c in request.form.getlist("services")])

    def run(app):
        services.check(
            app,
            current_user,
            services.CheckInput(
                assessment={k: getattr(form, k).data == "1" for k in ITEMS},
                on=form.on.data,
                note=form.note.data or "",
                lives_alone=form.lives_alone.data,
                services=form.services.data or [],
            ),
        )

    return _step(
        application_id,
        "check",
        form,
        run,
        {"on": "on", "services": "services", **{f"assessment.{k}": k for k in ITEMS}},
        lambda app: _("已记录调查评估：自理能力 %(level)s", level=str(_care(app.care_level))),
    )


def _care(level) -> str:
    return LABELS["care"].get(getattr(level, "value", level), "—")


@bp.post("/applications/<int:application_id>/notice")
@role_required(*DESK)
def notice(application_id: int):
    form = NoticeForm()
    return _step(
        application_id,
        "notice",
        form,
        lambda app: services.notice(app, current_user, form.start.data),
        {"from": "start", "on": "start"},
        lambda app: _(
            "公示 %(a)s 至 %(b)s", a=app.notice_from.isoformat(), b=app.notice_until.isoformat()
        ),
    )


def _plan_lines(app: Application) -> list[PlanLine]:
    lines = []
    for s in homecare.catalogue(app.year):
        raw = (request.form.get(f"per_month-{s.code}") or "").strip()
        if raw:
            try:
                lines.append(PlanLine(s.code, Decimal(raw)))
            except InvalidOperation:
                lines.append(PlanLine(s.code, Decimal(-1)))
    return lines


@bp.post("/applications/<int:application_id>/plan")
@role_required(*DESK)
def plan(application_id: int):
    form = PlanForm()
    return _step(
        application_id,
        "plan",
        form,
        lambda app: services.plan(app, current_user, _plan_lines(app), form.on.data),
        {"on": "on", "lines": "on"},
        lambda app: _(
            "服务计划：全年 %(t)s，补贴 %(s)s，自付 %(p)s",
            t=f"¥{app.plan_total:,.2f}",
            s=f"¥{app.plan_subsidy:,.2f}",
            p=f"¥{app.plan_self_paid:,.2f}",
        ),
    )


@bp.post("/applications/<int:application_id>/decide")
@role_required(*ADMIN)
def decide(application_id: int):
    form = DecideForm()

    def run(app):
        services.decide(
            app,
            current_user,
            services.Decision(
                approved=form.approved.data == "1",
                reasons=form.reasons.data or "",
                category=form.category.data or None,
                support=form.support.data or None,
                on=form.on.data,
            ),
        )

    def message(app):
        if app.status == Status.APPROVED and app.kind == Kind.TEKUN:
            return _("已确认，特困供养自 %(d)s 起", d=app.support_from.isoformat())
        if app.status == Status.WAITING:
            return _("本年度名额已满，已列入轮候")
        return _("已决定：%(s)s", s=str(STATUS_LABELS[app.status.value]))

    return _step(
        application_id,
        "decide",
        form,
        run,
        {"reasons": "reasons", "on": "on", "category": "category", "support": "support"},
        message,
    )


@bp.post("/applications/<int:application_id>/place")
@role_required(*ADMIN)
def place(application_id: int):
    """The waiting list's button: the place, if one is free now."""
    PlaceForm().validate_on_submit() or abort(400)
    app = _get(application_id)
    services.decide(app, current_user, services.Decision(approved=True))
    db.session.commit()
    flash(_("%(name)s 已获得名额，请签订服务协议", name=app.person.name), "success")
    return redirect(request.referrer or url_for("intake.waiting"), 303)


@bp.post("/applications/<int:application_id>/enrol")
@role_required(*ADMIN)
def enrol(application_id: int):
    form = EnrolForm()
    form.provider_id.choices = []
    return _step(
        application_id,
        "enrol",
        form,
        lambda app: services.enrol(app, current_user, form.provider_id.data, form.agreed_on.data),
        {"provider_id": "provider_id", "agreed_on": "agreed_on"},
        lambda app: _("已签订服务协议并登记居家养老服务"),
    )


@bp.post("/applications/<int:application_id>/withdraw")
@role_required(*DESK)
def withdraw(application_id: int):
    form = WithdrawForm()
    return _step(
        application_id,
        "withdraw",
        form,
        lambda app: services.withdraw(app, current_user, form.reason.data, form.on.data),
        {"reason": "reason", "on": "on"},
        lambda app: _("申请已撤回"),
    )
