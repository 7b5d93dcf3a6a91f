"""The enrolment's lifecycle on its page (/homecare/enrolments/<id>): withdraw the elder
(退出) or change their provider mid-year (变更服务组织), the bureau's clerks only, and
what the page says about an enrolment that ended so. Thin: form → lifecycle → commit →
flash → redirect; the API (api_lifecycle.py) calls the same services."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import lifecycle, services
from . import scoping as hc
from .forms import TransferForm, WithdrawForm
from .models import Enrolment, Provider
from .views import bp


def _form_errors(form) -> str:
    return "; ".join(
        f"{getattr(form, k).label.text}: {', '.join(map(str, v))}" for k, v in form.errors.items()
    )


def lifecycle_context(e: Enrolment) -> dict:
    """What the enrolment page shows of the lifecycle: how it ended, where its balance
    went or came from, and the clerk's two forms while it is active."""
    # the other side of a change of provider, as far as the viewer may see it (the old
    # provider does not learn who took its elder over)
    seen = hc.enrolments(current_user)
    ctx = {
        "reason": lifecycle.END_REASONS.get(e.end_reason, e.end_reason),
        "frozen": lifecycle.frozen(e),
        "successor": db.session.scalar(seen.where(Enrolment.transferred_from_id == e.id)),
        "predecessor": (
            db.session.scalar(seen.where(Enrolment.id == e.transferred_from_id))
            if e.transferred_from_id
            else None
        ),
        "may_change": (current_user.role == Role.ADMIN and e.status == "active"),
    }
    if ctx["may_change"]:
        today = local_today()
        ctx["withdraw"] = WithdrawForm(date=today)
        transfer = TransferForm(date=today)
        transfer.provider_id.choices = [
            (str(p.id), p.name)
            for p in db.session.scalars(
                sa.select(Provider).where(Provider.id != e.provider_id).order_by(Provider.id)
            )
        ]
        ctx["transfer"] = transfer
    return ctx


@bp.app_context_processor
def _lifecycle_helpers():
    return {"enrolment_lifecycle": lifecycle_context}


@bp.post("/homecare/enrolments/<int:enrolment_id>/withdraw")
@role_required(Role.ADMIN)
def withdraw(enrolment_id: int):
    e = hc.get_enrolment(current_user, enrolment_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("退出信息有误：%(e)s", e=_form_errors(form)), "danger")
        return redirect(url_for("homecare.enrolment", enrolment_id=e.id))
    lifecycle.withdraw(current_user, e, form.date.data, form.reason.data)
    db.session.commit()
    flash(
        _(
            "%(name)s 自 %(d)s 起退出居家养老服务；余额 ¥%(amt)s 保留在台账中，不再使用",
            name=e.person.name,
            d=form.date.data.isoformat(),
            amt=f"{e.balance:.2f}",
        ),
        "success",
    )
    return redirect(url_for("homecare.enrolment", enrolment_id=e.id))


@bp.post("/homecare/enrolments/<int:enrolment_id>/transfer")
@role_required(Role.ADMIN)
def transfer(enrolment_id: int):
    e = hc.get_enrolment(current_user, enrolment_id)
    form = TransferForm()
    form.provider_id.choices = [
        (str(p.id), p.name) for p in db.session.scalars(sa.select(Provider))
    ]
    if not form.validate_on_submit() or not str(form.provider_id.data).isdigit():
        flash(_("变更信息有误：%(e)s", e=_form_errors(form)), "danger")
        return redirect(url_for("homecare.enrolment", enrolment_id=e.id))
    provider = services.get_provider(int(form.provider_id.data))
    new = lifecycle.transfer(current_user, e, provider, form.date.data)
    db.session.commit()
    flash(
        _(
            "%(name)s 自 %(d)s 起由 %(provider)s 服务，余额 ¥%(amt)s 已随之转入；"
            "旧服务卡已停用，请打印新卡",
            name=new.person.name,
            d=form.date.data.isoformat(),
            provider=provider.name,
            amt=f"{new.balance:.2f}",
        ),
        "success",
    )
    return redirect(url_for("homecare.enrolment", enrolment_id=new.id))
