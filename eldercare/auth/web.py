"""Request-side authentication: sessions, bearer tokens, CSRF, headers, role guards."""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Callable

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError

from ..api_errors import ApiError, error_response
from ..audit import Actor, set_actor
from ..extensions import csrf, db, login_manager
from ..models import Role, User
from .services import user_for_token

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; worker-src 'self'; manifest-src 'self'"
)


@login_manager.user_loader
def _load_user(ident: str) -> User | None:
    try:
        uid, version = (int(p) for p in ident.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def _bearer() -> str | None:
    """The bearer token of an API call. Only /api/ paths take one: a page that carries an
    Authorization header is still a page (its CSRF check and idle timeout apply)."""
    if not request.path.startswith("/api/"):
        return None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def client_address() -> str | None:
    """The client's address: the peer, or, when the peer is a trusted proxy (nginx on the
    same host), the last hop of X-Forwarded-For, which that proxy appended itself."""
    peer = request.remote_addr
    forwarded = request.headers.get("X-Forwarded-For", "")
    if peer in current_app.config["TRUSTED_PROXIES"] and forwarded.strip():
        try:
            return str(ipaddress.ip_address(forwarded.split(",")[-1].strip()))
        except ValueError:
            return peer  # not an address: nothing to go by but the proxy's own
    return peer


def _reset_actor() -> None:
    """Every request starts as nobody, at its own address. The actor is a context
    variable, and a worker thread serves one request after another: without this, a
    failed login right after an admin's request was logged under the admin's name."""
    set_actor(Actor(None, "anonymous", client_address()))


def _forget_actor(_exc=None) -> None:
    set_actor(Actor(None, "system"))


def set_user_actor(user: User) -> None:
    """From here on this request acts as `user` (audit entries name them)."""
    set_actor(Actor(user.id, user.username, client_address()))


def request_user() -> User | None:
    """The user behind an API request, if any: a bearer token, or the page session."""
    if "api_user" in g:
        return g.api_user
    token = _bearer()
    user = user_for_token(token) if token else None
    if token is None and current_user.is_authenticated:
        user = current_user._get_current_object()
    g.api_user = user
    if user is not None:
        set_user_actor(user)
    return user


def api_user() -> User:
    """The signed-in user of an endpoint that `apikit.endpoint` already let in; 401 if
    called where nobody is signed in (an endpoint that forgot to name its roles)."""
    user = request_user()
    if user is None:
        raise ApiError(401, "unauthenticated", _l("需要登录或有效的令牌"))
    return user


def _session_guard():
    """Idle (30 min) and absolute (12 h) session limits, checked on every request."""
    if _bearer() or not current_user.is_authenticated:
        return None

    now = int(time.time())
    idle = current_app.config["SESSION_IDLE"].total_seconds()
    absolute = current_app.config["SESSION_ABSOLUTE"].total_seconds()
    seen = int(session.get("seen", now))
    started = int(session.get("started", now))
    if now - seen > idle or now - started > absolute:
        logout_user()
        session.clear()
        if request.path.startswith("/api/"):
            return None
        flash(_("会话已超时，请重新登录"), "warning")
        return redirect(url_for("auth.login", next=request.full_path))
    session["seen"] = now
    session.setdefault("started", now)
    set_user_actor(current_user._get_current_object())
    return None


def _csrf_guard():
    """Every state change from a browser carries the CSRF token; bearer calls carry no
    cookie, so they cannot be forged cross-site and need none."""
    if request.method not in UNSAFE or _bearer():
        return
    if request.endpoint in ("core_api.token", "core_api.change_password"):
        return  # use no cookie: the password proves who asks, the answer goes to no third site
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return  # the endpoint answers 401
    csrf.protect()


def _write_intent():
    from ..database import write_intent

    write_intent.set(request.method in UNSAFE)


def _headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    # First of all the request's hooks, so that nothing is recorded under a leftover actor.
    app.before_request_funcs.setdefault(None, []).insert(0, _reset_actor)
    app.teardown_request(_forget_actor)
    app.before_request(_write_intent)
    app.before_request(_session_guard)
    app.before_request(_csrf_guard)
    app.after_request(_headers)

    @app.errorhandler(CSRFError)
    def _csrf_failed(exc):
        if request.path.startswith("/api/"):
            return error_response(400, "csrf_failed", "缺少或无效的 CSRF 令牌")
        flash(_("表单已过期，请重新提交"), "warning")
        return redirect(request.referrer or url_for("core.dashboard")), 303


def role_required(*roles: Role) -> Callable:
    """Pages: log in first, then the role must be one of `roles` (403 otherwise)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
