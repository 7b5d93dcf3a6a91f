"""Home-care pages for the bureau and providers: enrolments with balances, an elder's
ledger, workers, printable QR card sheets; the labels every home-care page shows. More
on the same blueprint: views_visits.py (visits with their exceptions), views_dashboard.py,
views_lifecycle.py."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare import scoping as core_scoping
from eldercare.accounts.views import one_time_page
from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.exports import export_response, iter_rows, wants_export
from eldercare.extensions import db
from eldercare.idnumbers import mask
from eldercare.models import Region, Role
from eldercare.pagination import page_of
from eldercare.search import search_text
from eldercare.timeutil import local_today

from . import api, cards, exports, lifecycle, reference, services
from . import scoping as hc
from .forms import EnrolForm, WorkerForm
from .models import Enrolment, Provider, Visit

bp = Blueprint("homecare", __name__)
OFFICE = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER)

EXCEPTION_LABELS = {
    "too_short": _l("服务时间过短（不足 10 分钟）"),
    "quantity_exceeds_time": _l("申报时长超过在场时间"),
    "worker_overlap": _l("同一服务人员同时在两户"),
    "deceased": _l("老人已故"),
    "not_enrolled": _l("老人未登记或已退出本年度服务"),
    "future_time": _l("扫码时间晚于当前时间"),
    "far_from_home": _l("扫码地点距老人住址超过 1 公里"),
    "suspect_card": _l("疑似翻拍服务卡"),
    "manual": _l("手工补录（无卡）"),
    "no_check_out": _l("未签退"),
    "no_location": _l("扫码时未定位"),
    "no_home_point": _l("老人尚无住址定位，无法核对服务地点"),
    "late_upload": _l("扫码后超过 72 小时才上传"),
    "impossible_travel": _l("与前一次服务的住址相距过远，时速 60 公里赶不到"),
    "same_place": _l("同一天三位以上老人在同一地点（50 米内）扫码，不在老人家中"),
}
STATUS_LABELS = {
    "open": _l("进行中"),
    "completed": _l("已完成"),
    "flagged": _l("异常"),
    "active": _l("服务中"),
    "ended": _l("已终止"),
}
UNIT_LABELS = {"hour": _l("小时"), "session": _l("次"), "meal": _l("餐")}


@bp.app_context_processor
def _labels():
    return {
        "hc_exception": lambda c: str(EXCEPTION_LABELS.get(c, c)),
        "hc_status": lambda s: str(STATUS_LABELS.get(getattr(s, "value", s), s)),
        "hc_unit": lambda u: str(UNIT_LABELS.get(getattr(u, "value", u), u)),
        "hc_card_number": cards.short_number,
        "service_name": _service_name,
    }


def _service_name(code: str | None) -> str:
    """A service code in words (visits, claims, statements), the catalogue read once per
    request."""
    if not code:
        return "—"
    if "service_names" not in g:
        g.service_names = services.service_names()
    return g.service_names.get(code, code)


def _townships() -> list[Region]:
    """Every township that ever was: elders registered before the 2019-2020 reform keep
    their old township's code, and the lists must still name it and filter by it."""
    return list(
        db.session.scalars(
            sa.select(Region).where(Region.level == "township").order_by(Region.code)
        )
    )


def list_filters(**defaults) -> SimpleNamespace:
    """The list filters from the query string, as the API's query models read them."""
    a = request.args

    def num(key):
        v = a.get(key, "")
        return int(v) if v.isdigit() else None

    return SimpleNamespace(
        provider_id=num("provider_id"),
        year=num("year") or defaults.get("year"),
        township_code=a.get("township_code") or None,
        status=a.get("status") or None,
        q=search_text(a),
        month=a.get("month") or None,
        enrolment_id=num("enrolment_id"),
        worker_id=num("worker_id"),
        exception=a.get("exception") or None,
    )


@bp.get("/homecare/enrolments")
@role_required(*OFFICE)
def enrolments():
    args = list_filters(year=local_today().year)
    if args.status not in (None, "active", "ended"):
        args.status = None
    stmt = api.filtered_enrolments(current_user, args)
    names = {t.code: t.name for t in _townships()}
    if wants_export():
        rows = iter_rows(stmt, Enrolment.id)
        return export_response(
            "enrolments",
            [
                "登记编号",
                "姓名",
                "身份证号",
                "乡镇（街道）",
                "服务组织",
                "年度",
                "状态",
                "余额",
                "卡号",
            ],
            (
                (
                    e.id,
                    e.person.name,
                    mask(e.person.id_number),
                    names.get(e.person.township_code),
                    e.provider.name,
                    e.year,
                    STATUS_LABELS[e.status.value],
                    e.balance,
                    cards.short_number(e),
                )
                for e in rows
            ),
        )
    page = page_of(stmt, request.args)
    totals = services.ledger_summaries([e.id for e in page.items])
    form = EnrolForm(year=local_today().year)
    form.provider_id.choices = [
        (str(p.id), p.name) for p in db.session.scalars(hc.providers(current_user))
    ]
    return render_template(
        "homecare/enrolments.html",
        page=page,
        totals=totals,
        townships=_townships(),
        township_names=names,
        form=form,
        providers=db.session.scalars(hc.providers(current_user)).all(),
    )


@bp.post("/homecare/enrolments")
@role_required(Role.ADMIN)
def enrol():
    form = EnrolForm()
    form.provider_id.choices = [
        (str(p.id), p.name) for p in db.session.scalars(sa.select(Provider))
    ]
    if not form.validate_on_submit():
        flash(
            _(
                "登记信息有误：%(e)s",
                e="; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in form.errors.items()),
            ),
            "danger",
        )
        return redirect(url_for("homecare.enrolments"))
    person = core_scoping.get_person(current_user, form.person_id.data)
    try:
        enrolment = reference.enrol(
            person,
            services.get_provider(int(form.provider_id.data)),
            form.year.data,
            form.outside_reason.data,
            on=lifecycle.enrolled_on(form.year.data, form.enrolled_on.data),
        )
    except DomainError as exc:  # the field it names, in words (issue 17.1: outside_reason)
        db.session.rollback()
        flash(
            _(
                "登记信息有误：%(e)s",
                e="; ".join(
                    f"{getattr(form, k).label.text if hasattr(form, k) else k}: {v}"
                    for k, v in (exc.fields or {"person_id": exc.message}).items()
                ),
            ),
            "danger",
        )
        return redirect(url_for("homecare.enrolments"))
    db.session.commit()
    flash(
        _("已登记 %(name)s，补贴 ¥%(amt)s 已入账", name=person.name, amt=enrolment.balance),
        "success",
    )
    return redirect(url_for("homecare.enrolment", enrolment_id=enrolment.id))


@bp.get("/homecare/enrolments/<int:enrolment_id>")
@role_required(*OFFICE)
def enrolment(enrolment_id: int):
    e = hc.get_enrolment(current_user, enrolment_id)
    led = services.ledger(e)
    if wants_export():
        return exports.ledger(e, led)
    visits = db.session.scalars(
        hc.visits(current_user)
        .where(Visit.enrolment_id == e.id)
        .order_by(Visit.check_in_at.desc())
        .limit(200)
    ).all()
    return render_template(
        "homecare/ledger.html", e=e, led=led, visits=visits, card_number=cards.short_number(e)
    )


@bp.post("/homecare/enrolments/<int:enrolment_id>/reissue")
@role_required(Role.ADMIN, Role.PROVIDER)
def reissue(enrolment_id: int):
    e = cards.reissue(hc.get_enrolment(current_user, enrolment_id))
    db.session.commit()
    flash(_("已补发新卡（第 %(n)s 张），旧卡作废", n=e.card_serial), "success")
    return redirect(url_for("homecare.enrolment", enrolment_id=e.id))


@bp.route("/homecare/workers", methods=["GET", "POST"])
@role_required(Role.ADMIN, Role.AUDITOR, Role.PROVIDER)
def workers():
    """A provider admin manages their own workers; the bureau sees every provider's and
    manages them too (one rule, in eldercare.accounts.services, as the API has it)."""
    form = WorkerForm()
    provider = None
    if current_user.role == Role.PROVIDER:
        provider = hc.get_provider(current_user, current_user.provider_id)
    elif request.args.get("provider_id", "").isdigit():
        provider = hc.get_provider(current_user, int(request.args["provider_id"]))
    if request.method == "POST":
        created = _add_worker(form, provider)
        if created is not None:
            return created
    providers = db.session.scalars(hc.providers(current_user)).all()
    shown = [provider] if provider else providers
    people = {p.id: services.workers(p.id) for p in shown}
    if wants_export():
        return export_response(
            "workers",
            ["服务组织", "登录名", "姓名", "状态"],
            (
                (p.name, u.username, u.display_name, "启用" if u.active else "停用")
                for p in shown
                for u in people[p.id]
            ),
        )
    return render_template(
        "homecare/workers.html",
        form=form,
        shown=shown,
        people=people,
        providers=providers,
        provider=provider,
    ), (422 if request.method == "POST" else 200)


def _add_worker(form: WorkerForm, provider: Provider | None):
    """The one-time password page for a new worker, or None with the form's errors."""
    if provider is None:
        form.username.errors = [*form.username.errors, _("请先选择服务组织")]
        return None
    if not form.validate_on_submit():
        return None
    try:
        new = services.create_worker(
            current_user, provider, form.username.data, form.display_name.data or ""
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        for name, msg in (exc.fields or {"username": exc.message}).items():
            field = getattr(form, name, None) or form.username
            field.errors = [*field.errors, msg]
        return None
    back = url_for(
        "homecare.workers", provider_id=None if current_user.role == Role.PROVIDER else provider.id
    )
    return one_time_page(new.user, new.one_time_password, back)


@bp.get("/homecare/cards")
@role_required(Role.ADMIN, Role.PROVIDER)
def card_sheet():
    """A4 sheets of QR cards for a township or a provider, with cut lines."""
    args = list_filters(year=local_today().year)
    args.status = "active"
    stmt = api.filtered_enrolments(current_user, args)
    page = page_of(stmt, request.args, per_page=60)
    names = {t.code: t.name for t in _townships()}
    items = [(e, cards.short_number(e), cards.url(e)) for e in page.items]
    return render_template(
        "homecare/cards.html",
        page=page,
        items=items,
        township_names=names,
        townships=_townships(),
        providers=db.session.scalars(hc.providers(current_user)).all(),
    )
