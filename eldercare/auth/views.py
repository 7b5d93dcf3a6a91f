"""The login pages: the password, the second factor, the change of a one-time password,
one's own password at any time, and logout.

A login that still owes a step (the code, a new password) keeps it in the session as
"pending" and logs nobody in, so nothing else is reachable until every step is done."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import Invalid
from ..extensions import db
from ..models import User
from ..timeutil import to_local
from . import totp
from .forms import ChangePasswordForm, LoginForm, NewPasswordForm, OtpForm
from .services import (
    AccountLocked,
    LoginFailed,
    OtpInvalid,
    check_password,
    end_sessions,
    login_succeeded,
    set_password,
)
from .web import client_address, set_user_actor

bp = Blueprint("auth", __name__)

PENDING_SECONDS = 300  # the code or the new password must follow within five minutes


def _safe_next(target: str | None) -> str:
    if (
        target
        and urlsplit(target).netloc == ""
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("core.dashboard")


def _locked(form_field, exc: AccountLocked) -> dict:
    """Say until when, under the field; the answer is 429 with Retry-After."""
    until = to_local(exc.until).strftime("%H:%M")
    if exc.address:
        msg = _("此地址登录失败次数过多，请于 %(until)s 后再试", until=until)
    else:
        msg = _("登录失败次数过多，账号已锁定至 %(until)s，请稍后再试", until=until)
    form_field.errors.append(msg)
    return {"Retry-After": str(exc.retry_after)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            user = check_password(
                form.username.data.strip(), form.password.data, address=client_address()
            )
        except AccountLocked as exc:
            db.session.commit()
            headers = _locked(form.password, exc)
            status = 429
        except LoginFailed:
            db.session.commit()
            form.password.errors.append(_("用户名或密码错误"))
            status = 401
        else:
            db.session.commit()
            _fresh_session()
            return _next_step(user, "password", request.args.get("next"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status, headers


def _fresh_session() -> None:
    """A new session at login: nothing carried over but the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _next_step(user: User, done: str, next_url: str | None):
    """After the password (`done="password"`) or the code (`done="otp"`): the second
    factor where the account has or needs one, then a new password where the current one
    was set by someone else, then in."""
    pending = {"uid": user.id, "v": user.session_version, "at": int(time.time()), "next": next_url}
    if done == "password" and (totp.required_for(user) or totp.enrolled(user)):
        session["otp"] = pending
        return redirect(url_for("auth.otp"))
    if user.must_change_password:
        login_succeeded(user, "login_password_change_required")
        db.session.commit()
        pending["v"] = user.session_version
        session["pwchange"] = pending
        return redirect(url_for("auth.new_password"))
    return _complete_login(user, next_url)


def _complete_login(user: User, next_url: str | None):
    set_user_actor(user)
    login_succeeded(user)
    db.session.commit()
    login_user(user)
    session["started"] = session["seen"] = int(time.time())
    return redirect(_safe_next(next_url))


def _pending(key: str) -> tuple[dict, User | None]:
    """The login step owed in this session, and its user; None when it is missing, stale
    (five minutes), or the account changed since (disabled, logged out, reset)."""
    pending = session.get(key) or {}
    user = db.session.get(User, pending.get("uid") or 0)
    if (
        user is None
        or user.session_version != pending.get("v")
        or not user.active
        or time.time() - pending.get("at", 0) > PENDING_SECONDS
    ):
        session.pop(key, None)
        return pending, None
    return pending, user


def _start_again():
    flash(_("请重新登录"), "warning")
    return redirect(url_for("auth.login"))


@bp.route("/login/otp", methods=["GET", "POST"])
def otp():
    """The second step for admin, manager and auditor accounts: enrol (the first time,
    or after an admin reset it) or enter the code."""
    pending, user = _pending("otp")
    if user is None:
        return _start_again()
    form = OtpForm()
    enrolling = not totp.enrolled(user)
    if enrolling and "secret" not in pending:
        pending["secret"] = totp.new_secret()
        session["otp"] = pending
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            if enrolling:
                totp.confirm_enrolment(
                    user, pending["secret"], form.code.data, address=client_address()
                )
            else:
                totp.verify(user, form.code.data, address=client_address())
        except AccountLocked as exc:
            db.session.commit()
            session.pop("otp", None)
            headers, status = _locked(form.code, exc), 429
        except OtpInvalid:
            db.session.commit()
            form.code.errors.append(_("验证码不正确，请重试"))
            status = 401
        else:
            db.session.commit()
            _fresh_session()
            return _next_step(user, "otp", pending.get("next"))
    qr = totp.provisioning_qr(user, pending["secret"]) if enrolling else None
    return (
        render_template(
            "auth/otp.html",
            form=form,
            enrolling=enrolling,
            qr=qr,
            secret=pending.get("secret") if enrolling else None,
        ),
        status,
        headers,
    )


@bp.route("/login/password", methods=["GET", "POST"])
def new_password():
    """The password someone else set is good for this one login: choose one's own."""
    pending, user = _pending("pwchange")
    if user is None:
        return _start_again()
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        set_user_actor(user)
        try:
            set_password(user, form.new_password.data, one_time=False)
        except Invalid as exc:
            db.session.rollback()
            form.new_password.errors.append(exc.message)
            status = 422
        else:
            _fresh_session()
            flash(_("密码已修改"), "success")
            return _complete_login(user, pending.get("next"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/password.html", form=form, one_time=True), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """One's own password, any time: the current one, then the new one twice. Every other
    session and token of the account ends; this one goes on."""
    user: User = current_user._get_current_object()
    form = ChangePasswordForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            check_password(user.username, form.password.data, address=client_address())
            set_password(user, form.new_password.data, one_time=False)
        except AccountLocked as exc:
            db.session.commit()
            headers, status = _locked(form.password, exc), 429
        except LoginFailed:
            db.session.commit()
            form.password.errors.append(_("当前密码不正确"))
            status = 401
        except Invalid as exc:
            db.session.rollback()
            form.new_password.errors.append(exc.message)
            status = 422
        else:
            db.session.commit()
            login_user(user)  # this session carries the new session version
            flash(_("密码已修改，其他设备上的登录已退出"), "success")
            return redirect(url_for("core.dashboard"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/password.html", form=form, one_time=False), status, headers


@bp.post("/logout")
@login_required
def logout():
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
