"""The login page and logout."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..timeutil import to_local
from .forms import LoginForm
from .services import AccountLocked, LoginFailed, authenticate, end_sessions

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
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
            lang = session.get("lang")
            session.clear()  # a new session at login: nothing carried over
            if lang:
                session["lang"] = lang
            login_user(user)
            session["started"] = session["seen"] = int(time.time())
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
