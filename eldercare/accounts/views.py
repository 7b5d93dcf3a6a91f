"""The accounts page (/users) for the bureau, and the account actions a provider's
workers page posts to as well: form → service → commit → flash → redirect.

A one-time password is shown once, on the answer to the POST that made it, and is
never put in a URL, a flash message (the session cookie) or the log.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth import totp
from ..auth.views import _safe_next
from ..auth.web import role_required
from ..errors import DomainError
from ..exports import export_response, iter_rows, wants_export
from ..extensions import db
from ..models import Region, Role, User
from ..pagination import page_of
from ..registry import NavItem
from ..templating import LABELS, local_dt
from . import services
from .forms import ROLE_CHOICES, AccountForm, ActionForm, choices

bp = Blueprint("accounts", __name__)
MANAGERS = (Role.ADMIN, Role.PROVIDER)


@bp.record_once
def _nav(state):
    state.app.extensions["eldercare"].nav.append(
        NavItem("accounts.index", _l("账号管理"), (Role.ADMIN,), 88)
    )


def _filtered(args):
    role = args.get("role")
    active = {"1": True, "0": False}.get(args.get("active", ""))
    return services.accounts(
        current_user,
        role=Role(role) if role in {r.value for r in Role} else None,
        active=active,
        q=(args.get("q") or "").strip()[:64] or None,
    )


def _choices(form: AccountForm) -> None:
    blank = [("", "—")]
    form.facility_id.choices = choices(blank + list(services.scope_names("facilities").items()))
    form.provider_id.choices = choices(blank + list(services.scope_names("providers").items()))
    form.township_code.choices = choices(blank + list(_townships().items()))


def _townships() -> dict[str, str]:
    return dict(
        db.session.execute(
            sa.select(Region.code, Region.name)
            .where(Region.level == "township")
            .order_by(Region.code)
        ).all()
    )


def _scope_of(u: User, facilities: dict, providers: dict) -> str:
    if u.facility_id:
        return facilities.get(u.facility_id, "")
    if u.provider_id:
        return providers.get(u.provider_id, "")
    if u.township_code:
        return _townships().get(u.township_code, u.township_code)
    return ""


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def index():
    """Every account: filters in the URL, pages, exports; a new account below the list."""
    form = AccountForm()
    _choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            new = services.create_account(
                current_user,
                form.username.data.strip(),
                form.role.data,
                display_name=(form.display_name.data or "").strip(),
                facility_id=form.facility_id.data,
                provider_id=form.provider_id.data,
                township_code=form.township_code.data or None,
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            _field_errors(form, exc)
        else:
            return one_time_page(new.user, new.one_time_password, url_for("accounts.index"))
    if request.method == "POST":
        status = 422
    facilities = services.scope_names("facilities")
    providers = services.scope_names("providers")
    stmt = _filtered(request.args)
    if wants_export():
        role_label, yes = LABELS["role"], _("已绑定")
        return export_response(
            "users",
            ["登录名", "姓名", "角色", "所属机构或组织", "状态", "动态验证码", "最近登录"],
            (
                (
                    u.username,
                    u.display_name,
                    str(role_label[u.role.value]),
                    _scope_of(u, facilities, providers),
                    _("启用") if u.active else _("停用"),
                    yes if totp.enrolled(u) else _("未绑定"),
                    local_dt(u.last_login_at),
                )
                for u in iter_rows(stmt, User.id)
            ),
        )
    page = page_of(stmt, request.args)
    return render_template(
        "accounts/index.html",
        page=page,
        form=form,
        roles=ROLE_CHOICES,
        scope_of=lambda u: _scope_of(u, facilities, providers),
        enrolled=totp.enrolled,
    ), status


def _field_errors(form, exc: DomainError) -> None:
    for name, msg in (exc.fields or {"username": exc.message}).items():
        field = getattr(form, name, None) or form.username
        field.errors = [*field.errors, exc.message if name == "password" else msg]


def one_time_page(user: User, password: str, back: str):
    """The one-time password, shown once (the page is no-store, as every page is)."""
    return render_template("accounts/password.html", user=user, password=password, back=back)


def _target(user_id: int) -> tuple[User | None, str]:
    form = ActionForm()
    if not form.validate_on_submit():
        # the CSRF guard refuses a post without its token before we get here
        return None, url_for("accounts.index")
    back = _safe_next(form.next.data or url_for("accounts.index"))
    return services.get_account(current_user, user_id), back


@bp.post("/users/<int:user_id>/disable")
@role_required(*MANAGERS)
def disable(user_id: int):
    """Disable an account: its sessions and tokens end at once."""
    user, back = _target(user_id)
    if user is not None:
        services.set_active(current_user, user, False)
        db.session.commit()
        flash(_("已停用账号 %(name)s，其登录已全部失效", name=user.username), "success")
    return redirect(back)


@bp.post("/users/<int:user_id>/enable")
@role_required(*MANAGERS)
def enable(user_id: int):
    user, back = _target(user_id)
    if user is not None:
        services.set_active(current_user, user, True)
        db.session.commit()
        flash(_("已启用账号 %(name)s", name=user.username), "success")
    return redirect(back)


@bp.post("/users/<int:user_id>/reset-password")
@role_required(*MANAGERS)
def reset_password(user_id: int):
    user, back = _target(user_id)
    if user is None:
        return redirect(back)
    password = services.reset_password(current_user, user)
    db.session.commit()
    return one_time_page(user, password, back)


@bp.post("/users/<int:user_id>/reset-otp")
@role_required(Role.ADMIN)
def reset_otp(user_id: int):
    user, back = _target(user_id)
    if user is not None:
        services.reset_second_factor(current_user, user)
        db.session.commit()
        flash(_("已重置 %(name)s 的动态验证码，下次登录时重新绑定", name=user.username), "success")
    return redirect(back)
