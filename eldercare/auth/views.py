"""The login page and logout."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..models import User
from ..timeutil import to_local
from . import totp
from .forms import LoginForm, OtpForm
from .services import AccountLocked, LoginFailed, authenticate, end_sessions

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if (
        target
        and urlsplit(target).netloc == ""
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("core.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data.strip(), form.password.data)
        except AccountLocked as exc:
            db.session.commit()
            until = to_local(exc.until).strftime("%H:%M")
            form.password.errors.append(
                _("登录失败次数过多，账号已锁定至 %(until)s，请稍后再试", until=until)
            )
            status = 429
        except LoginFailed:
            db.session.commit()
            form.password.errors.append(_("用户名或密码错误"))
            status = 401
        else:
            db.session.commit()
            _fresh_session()
            if totp.required_for(user) or totp.enrolled(user):
                session["otp"] = {
                    "uid": user.id,
                    "v": user.session_version,
                    "at": int(time.time()),
                    "next": request.args.get("next"),
                }
                return redirect(url_for("auth.otp"))
            return _complete_login(user, request.args.get("next"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


def _fresh_session() -> None:
    """A new session at login: nothing carried over but the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _complete_login(user: User, next_url: str | None):
    login_user(user)
    session["started"] = session["seen"] = int(time.time())
    return redirect(_safe_next(next_url))


@bp.route("/login/otp", methods=["GET", "POST"])
def otp():
    """The second step for admin and manager accounts: enrol (first time) or enter the code."""
    pending = session.get("otp") or {}
    user = db.session.get(User, pending.get("uid") or 0)
    if (
        user is None
        or user.session_version != pending.get("v")
        or not user.active
        or time.time() - pending.get("at", 0) > 300
    ):
        session.pop("otp", None)
        flash(_("请重新登录"), "warning")
        return redirect(url_for("auth.login"))
    form = OtpForm()
    enrolling = not totp.enrolled(user)
    if enrolling and "secret" not in pending:
        pending["secret"] = totp.new_secret()
        session["otp"] = pending
    status = 200
    if form.validate_on_submit():
        ok = (
            totp.confirm_enrolment(user, pending["secret"], form.code.data)
            if enrolling
            else totp.verify(user, form.code.data)
        )
        db.session.commit()
        if ok:
            next_url = pending.get("next")
            _fresh_session()
            return _complete_login(user, next_url)
        form.code.errors.append(_("验证码不正确，请重试"))
        status = 401
    qr = totp.provisioning_qr(user, pending["secret"]) if enrolling else None
    return render_template(
        "auth/otp.html",
        form=form,
        enrolling=enrolling,
        qr=qr,
        secret=pending.get("secret") if enrolling else None,
    ), status


@bp.post("/logout")
@login_required
def logout():
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
