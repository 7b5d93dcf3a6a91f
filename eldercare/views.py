"""Core pages: the dashboard, the public figures, the audit log, health, language."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import stats
from .apikit import READERS
from .auth.web import role_required
from .core_api import audit_select
from .exports import export_response, iter_rows, wants_export
from .extensions import db
from .jobs import alerts_for
from .models import AuditEntry, Role
from .pagination import page_of
from .registry import NavItem, registry
from .timeutil import local_today

bp = Blueprint("core", __name__)


@bp.record_once
def _nav(state):
    reg = state.app.extensions["eldercare"]
    reg.nav.append(NavItem("core.dashboard", _l("首页"), tuple(Role), 0))
    # the district overview is the bureau's first page; the others find it in the menu
    reg.nav.append(NavItem("core.overview", _l("全区概览"), (Role.MANAGER, Role.PROVIDER), 1))
    reg.nav.append(NavItem("core.audit", _l("审计日志"), READERS, 90))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError:
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/")
@login_required
def dashboard():
    """Each role's first page is its work (issue 17.13): the page a feature registered
    for the role (registry.home_pages: a manager's home, a provider's month, a worker's
    scanner), else the district overview (the bureau's)."""
    home = registry().home_pages.get(current_user.role.value)
    if home is not None:
        return home()
    return overview()


@bp.get("/overview")
@login_required
def overview():
    """The district's figures on a day (`?date=`), for every role."""
    today = stats.page_date(request.args.get("date"), local_today())
    figures = stats.overview(today)
    panels = [(tpl, fn()) for tpl, fn in registry().dashboard_panels]
    return render_template(
        "dashboard.html",
        figures=figures,
        today=today,
        panels=panels,
        alerts=alerts_for(current_user),
    )


@bp.get("/public")
def public():
    """Aggregate figures only: no login, never a person; on a past day (`?date=`) too."""
    today = stats.page_date(request.args.get("date"), local_today())
    figures = {"date": today.isoformat(), "wubao": stats.wubao_figures(today)}
    for fn in registry().public_figures:
        figures.update(fn(today))
    return render_template("public.html", figures=figures, today=today)


@bp.get("/audit")
@role_required(*READERS)
def audit():
    args = request.args
    stmt = audit_select(
        args.get("entity") or None, args.get("entity_id") or None, args.get("action") or None
    )
    if wants_export():
        return export_response(
            "audit",
            ["时间", "用户", "操作", "对象", "编号", "变更"],
            (
                (e.at, e.username, e.action, e.entity, e.entity_id, e.changes)
                for e in iter_rows(stmt, AuditEntry.id)
            ),
        )
    page = page_of(stmt, args)
    return render_template("audit.html", page=page)


@bp.post("/lang/<code>")
def set_language(code: str):
    from flask import current_app

    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.referrer or "/"
    resp = redirect(target if target.startswith(("/", request.host_url)) else "/")
    resp.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return resp


def parse_date(value: str | None, default: date | None = None) -> date | None:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default
