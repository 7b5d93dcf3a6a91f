"""The pages of the year: the village notices of 特困 applications, the home-care
waiting list and eligibility rules, the figures. Routes on the intake blueprint."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.pagination import Page
from eldercare.timeutil import local_today

from . import figures, rules, scoping, settings_views
from .forms import PlaceForm
from .models import Application, Kind
from .views import BUREAU, READERS, _date, _int, _villages, bp, townships

# --- notices, waiting list, rules, figures ------------------------------------------------


@bp.get("/applications/notices")
@role_required(*READERS)
def notices():
    """特困 applications whose 7-day notice covers the chosen day, a page per township;
    printable, without ID numbers."""
    day = _date(request.args.get("day")) or local_today()
    stmt = (
        scoping.applications(current_user)
        .where(
            Application.kind == Kind.TEKUN,
            Application.notice_from <= day,
            Application.notice_until >= day,
        )
        .order_by(Application.township_code, Application.notice_from, Application.id)
    )
    items = db.session.scalars(stmt).all()
    groups: dict[str, list[Application]] = {}
    for a in items:
        groups.setdefault(a.township_code, []).append(a)
    return render_template(
        "intake/notices.html",
        groups=groups,
        names=townships(),
        villages=_villages(a.village_code for a in items),
        day=day,
    )


@bp.get("/homecare/waiting-list")
@role_required(*READERS)
def waiting():
    year = _int(request.args.get("year")) or local_today().year
    page_no = max(1, _int(request.args.get("page")) or 1)
    data = figures.waiting_page(current_user, year, page_no, 50)
    if wants_export():
        all_rows = figures.waiting_page(current_user, year, 1, 100_000)["items"]
        names = townships()
        return export_response(
            f"homecare-waiting-{year}",
            [_("名次"), _("姓名"), _("乡镇（街道）"), _("需求评分"), _("理由"), _("轮候天数")],
            (
                (
                    e["rank"],
                    e["name"],
                    names.get(e["township_code"], ""),
                    e["score"],
                    _("；").join(e["reasons"]),
                    e["days_waiting"],
                )
                for e in all_rows
            ),
        )
    page = Page(data["items"], data["total"], page_no, 50)
    return render_template(
        "intake/waiting.html",
        data=data,
        page=page,
        year=year,
        names=townships(),
        form=PlaceForm(formdata=None),
        admin=current_user.role == Role.ADMIN,
        free=data["places"] - data["taken"],
    )


@bp.route("/homecare/eligibility", methods=["GET", "POST"])
@role_required(*BUREAU)
def eligibility():
    year = _int(request.args.get("year")) or local_today().year
    form = PlaceForm()
    status = 200
    if request.method == "POST":
        if current_user.role != Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                rules.set_rules(year, _rules_from_form(), _int(request.form.get("places")))
                db.session.commit()
                flash(_("已保存 %(y)s 年居家养老服务资格条件", y=year), "success")
                return redirect(url_for("intake.eligibility", year=year), 303)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        status = 422
    rows, inherited = rules.rules_for(year)
    out = render_template(
        "intake/eligibility.html",
        year=year,
        rows=rows,
        inherited=inherited,
        places=rules.places_row(year).places,
        taken=rules.places_taken(year),
        form=form,
        categories=sorted(rules.CATEGORIES),
        levels=("self", "partial", "full"),
        admin=current_user.role == Role.ADMIN,
        **settings_views.page_context(year),
    )
    db.session.commit()  # the year's places row, made on first sight
    return out, status


def _rules_from_form() -> list[dict]:
    out = []
    for i in range(50):
        code = (request.form.get(f"code-{i}") or "").strip()
        if not code or request.form.get(f"delete-{i}"):
            continue
        age = (request.form.get(f"min_age-{i}") or "").strip()
        out.append(
            {
                "code": code,
                "label": (request.form.get(f"label-{i}") or "").strip(),
                "min_age": int(age) if age.isdigit() else None,
                "categories": request.form.getlist(f"categories-{i}"),
                "care_levels": request.form.getlist(f"care_levels-{i}"),
            }
        )
    return out


@bp.get("/applications/figures")
@role_required(*BUREAU)
def figures_page():
    year = _int(request.args.get("year")) or local_today().year
    f = figures.figures(year)
    names = {"tekun": _("特困"), "homecare": _("居家养老")}
    steps = {
        "check": _("调查评估"),
        "notice": _("公示"),
        "plan": _("服务计划"),
        "decide": _("决定"),
        "place": _("轮候获得名额"),
        "enrol": _("签订协议"),
    }
    charts = {
        "townships": {
            "labels": [t["township"] for t in f["townships"]],
            "series": [
                {
                    "label": _("在办"),
                    "data": [t["received"] + t["checked"] + t["noticed"] for t in f["townships"]],
                },
                {"label": _("已确认"), "data": [t["approved"] for t in f["townships"]]},
                {"label": _("不予确认"), "data": [t["refused"] for t in f["townships"]]},
                {"label": _("轮候"), "data": [t["waiting"] for t in f["townships"]]},
            ],
        },
        "steps": {
            "labels": [f"{names[s['kind']]}·{steps[s['step']]}" for s in f["steps"]],
            "series": [
                {"label": _("按时"), "data": [s["done"] - s["late"] for s in f["steps"]]},
                {"label": _("超时"), "data": [s["late"] for s in f["steps"]]},
            ],
        },
    }
    try:  # dynamic management's figures count what the entrants' lists found, if loaded
        entrants_url = url_for("dynamic.figures_page")
    except BuildError:
        entrants_url = None
    return render_template(
        "intake/figures.html",
        f=f,
        charts=charts,
        kinds=names,
        step_names=steps,
        year=year,
        entrants_url=entrants_url,
    )
