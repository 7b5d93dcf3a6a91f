"""The bureau's reference-data pages (issue 17.1): providers with their contract
townships and dates, each year's price list, each year's subsidy. The bureau (admin)
adds and changes them; the auditor reads them; no other role sees them. Thin: form →
service (providers.py, reference.py, services.py) → commit → flash → redirect; a domain
error goes under the field it names, with what was typed kept."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Region, Role
from eldercare.timeutil import local_today

from . import providers, reference, services
from .forms_reference import CopyForm, ProviderForm, ServiceEditForm, ServiceForm, SubsidyForm
from .models import Enrolment, EnrolmentStatus, Provider, ProviderTownship, SubsidyYear

bp = Blueprint("homecare_reference", __name__)
BUREAU = (Role.ADMIN, Role.AUDITOR)
STATE_LABELS = {
    "active": _l("合同期内"),
    "not_started": _l("合同未开始"),
    "ended": _l("合同已到期"),
    "open": _l("未填合同日期"),
}


def _fail(form, exc: DomainError, default: str) -> None:
    """The domain error under the field it names (the default field else)."""
    db.session.rollback()
    for name, msg in (exc.fields or {default: exc.message}).items():
        field = getattr(form, name, None) or getattr(form, default)
        field.errors = [*field.errors, msg]


def _township_names() -> dict[str, str]:
    return dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )


def _current_townships() -> list[Region]:
    """The townships a contract can name today (those of before the reform are gone)."""
    return list(
        db.session.scalars(
            sa.select(Region)
            .where(Region.level == "township", Region.valid_to.is_(None))
            .order_by(Region.code)
        )
    )


# --- providers ----------------------------------------------------------------------------


@bp.get("/homecare/providers")
@role_required(*BUREAU)
def providers_page():
    q, township = request.args.get("q", "").strip(), request.args.get("township_code", "")
    stmt = sa.select(Provider).order_by(Provider.id)
    if q:
        stmt = stmt.where(Provider.name.contains(q))
    if township:
        stmt = stmt.where(
            Provider.id.in_(
                sa.select(ProviderTownship.provider_id).where(
                    ProviderTownship.township_code == township
                )
            )
        )
    rows = db.session.scalars(stmt).all()
    names, today = _township_names(), local_today()
    states = {p.id: reference.contract_state(p, today) for p in rows}
    if wants_export():
        return export_response(
            "providers",
            ["服务组织", "联系电话", "合同开始", "合同结束", "合同状态", "服务乡镇（街道）"],
            (
                (
                    p.name,
                    p.phone,
                    p.contract_from,
                    p.contract_to,
                    str(STATE_LABELS[states[p.id]]),
                    "、".join(names.get(c, c) for c in p.township_codes),
                )
                for p in rows
            ),
        )
    enrolled = dict(
        db.session.execute(
            sa.select(Enrolment.provider_id, sa.func.count())
            .where(Enrolment.year == today.year, Enrolment.status == EnrolmentStatus.ACTIVE)
            .group_by(Enrolment.provider_id)
        ).all()
    )
    return render_template(
        "homecare/reference/providers.html",
        rows=rows,
        names=names,
        states=states,
        state_labels=STATE_LABELS,
        enrolled=enrolled,
        townships=_current_townships(),
    )


def _provider_input(form: ProviderForm) -> providers.ProviderInput:
    return providers.ProviderInput(
        name=form.name.data or "",
        phone=form.phone.data or "",
        townships=request.form.getlist("townships"),
        contract_from=form.contract_from.data,
        contract_to=form.contract_to.data,
    )


def _provider_form(form: ProviderForm, provider: Provider | None, status: int = 200):
    towns = _current_townships()
    old = set(provider.township_codes if provider else []) - {t.code for t in towns}
    if old:  # a contract of before the reform keeps its townships until changed
        towns += db.session.scalars(sa.select(Region).where(Region.code.in_(old))).all()
    return render_template(
        "homecare/reference/provider_form.html",
        form=form,
        provider=provider,
        townships=towns,
        names=_township_names(),
        chosen=set(request.form.getlist("townships"))
        if request.method == "POST"
        else set(provider.township_codes if provider else []),
    ), status


@bp.route("/homecare/providers/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_provider():
    form = ProviderForm()
    if request.method == "POST":
        if form.validate_on_submit():
            data = _provider_input(form)
            try:
                p = providers.create_provider(
                    data.name, data.townships, data.contract_from, data.contract_to, data.phone
                )
                db.session.commit()
            except DomainError as exc:
                _fail(form, exc, "name")
            else:
                flash(_("已添加服务组织：%(name)s", name=p.name), "success")
                return redirect(url_for("homecare_reference.providers_page"))
        return _provider_form(form, None, 422)
    return _provider_form(form, None)


@bp.get("/homecare/providers/<int:provider_id>")
@role_required(*BUREAU)
def provider_page(provider_id: int):
    provider = services.get_provider(provider_id)
    return _provider_form(ProviderForm(obj=provider), provider)


@bp.post("/homecare/providers/<int:provider_id>")
@role_required(Role.ADMIN)
def edit_provider(provider_id: int):
    provider = services.get_provider(provider_id)
    form = ProviderForm()
    if form.validate_on_submit():
        try:
            providers.update_provider(
                provider,
                _provider_input(form),
                {"name", "phone", "townships", "contract_from", "contract_to"},
            )
            db.session.commit()
        except DomainError as exc:
            _fail(form, exc, "name")
        else:
            flash(_("已保存服务组织：%(name)s", name=provider.name), "success")
            return redirect(url_for("homecare_reference.providers_page"))
    return _provider_form(form, provider, 422)


# --- the price list and the subsidy of a year --------------------------------------------


def _year() -> int:
    raw = request.args.get("year", "")
    year = int(raw) if raw.isdigit() else local_today().year
    return min(max(year, 2000), 2100)


def _prices(year: int, form: ServiceForm | None = None, status: int = 200):
    items = services.catalogue(year)
    if wants_export():
        return export_response(
            f"prices-{year}",
            ["代码", "服务项目", "单位", "单价"],
            ((s.code, s.name, s.unit.value, s.price) for s in items),
        )
    subsidy = db.session.scalar(sa.select(SubsidyYear.amount).where(SubsidyYear.year == year))
    return render_template(
        "homecare/reference/prices.html",
        year=year,
        items=items,
        subsidy=subsidy,
        form=form or ServiceForm(),
        copy_form=CopyForm(from_year=year - 1),
        years=sorted({*reference.catalogue_years(), year}, reverse=True),
    ), status


@bp.get("/homecare/prices")
@role_required(*BUREAU)
def prices_page():
    return _prices(_year())


@bp.post("/homecare/prices")
@role_required(Role.ADMIN)
def add_price():
    year, form = _year(), ServiceForm()
    if form.validate_on_submit():
        try:
            s = reference.add_service(
                year, form.code.data, form.name.data, form.unit.data, form.price.data
            )
            db.session.commit()
        except DomainError as exc:
            _fail(form, exc, "code")
        else:
            flash(_("已添加服务项目：%(code)s %(name)s", code=s.code, name=s.name), "success")
            return redirect(url_for("homecare_reference.prices_page", year=year))
    return _prices(year, form, 422)


@bp.post("/homecare/prices/copy")
@role_required(Role.ADMIN)
def copy_prices():
    year, form = _year(), CopyForm()
    if form.validate_on_submit():
        try:
            reference.copy_catalogue(year, form.from_year.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(_("已从 %(src)s 年复制价目表", src=form.from_year.data), "success")
    return redirect(url_for("homecare_reference.prices_page", year=year))


@bp.route("/homecare/prices/<int:service_id>", methods=["GET", "POST"])
@role_required(*BUREAU)
def price_page(service_id: int):
    item = reference.get_service(service_id)
    form = ServiceEditForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.unit.data = item.unit.value
        return render_template("homecare/reference/price_form.html", form=form, item=item)
    if current_user.role != Role.ADMIN:
        abort(403)
    if form.validate_on_submit():
        try:
            reference.update_service(
                item,
                reference.ServiceChange(
                    name=form.name.data, unit=form.unit.data, price=form.price.data
                ),
            )
            db.session.commit()
        except DomainError as exc:
            _fail(form, exc, "name")
        else:
            flash(_("已保存服务项目：%(code)s", code=item.code), "success")
            return redirect(url_for("homecare_reference.prices_page", year=item.year))
    return render_template("homecare/reference/price_form.html", form=form, item=item), 422


@bp.route("/homecare/subsidy", methods=["GET", "POST"])
@role_required(*BUREAU)
def subsidy_page():
    form = SubsidyForm(year=local_today().year)
    if request.method == "POST":
        if current_user.role != Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                row = services.set_subsidy(form.year.data, form.amount.data)
                db.session.commit()
            except DomainError as exc:
                _fail(form, exc, "amount")
            else:
                flash(
                    _("已设定 %(year)s 年补贴标准：¥%(amt)s", year=row.year, amt=row.amount),
                    "success",
                )
                return redirect(url_for("homecare_reference.subsidy_page"))
    return render_template(
        "homecare/reference/subsidy.html",
        form=form,
        rows=reference.subsidies(),
        default=services.DEFAULT_SUBSIDY,
    ), (422 if request.method == "POST" else 200)
