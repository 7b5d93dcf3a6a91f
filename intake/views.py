"""Pages of intake: the applications list and the desk where applications are received,
the panels on the dashboard and the person page, and what the other page modules share
(the blueprint, helpers). One page per application with its steps: step_views.py; the
notices, waiting list, rules and figures: year_views.py. Thin: form → service → commit →
flash → redirect; on an error the page again with the error under its field (422)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare import scoping as core_scoping
from eldercare.auth.web import role_required
from eldercare.errors import DomainError, NotFound
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.jobs import alerts_for
from eldercare.models import Region, Role
from eldercare.pagination import page_of
from eldercare.people import services as people
from eldercare.people.forms import choices
from eldercare.timeutil import local_today

from . import figures, scoping, services
from .forms import NewApplicationForm
from .models import OPEN, Application, Status
from .serializers import overdue
from .words import STATUS_LABELS, shown

bp = Blueprint("intake", __name__)
READERS, DESK, BUREAU = scoping.READERS, scoping.DESK, scoping.BUREAU
ADMIN = (Role.ADMIN,)


# the sentences intake stores in Chinese (need reasons, rule labels, system notes), in the
# reader's language wherever a template shows them: `{{ app.note | intake_text }}`
bp.add_app_template_filter(shown, "intake_text")


def townships() -> dict[str, str]:
    return figures.township_names()


def _villages(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(
        db.session.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all()
    )


def _date(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or date(1900, 1, 1) <= day <= date(2999, 12, 31) else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 6 else None


# --- panels -----------------------------------------------------------------------------


def dashboard_panel() -> dict:
    if current_user.role not in READERS:
        return {"show": False}
    day = local_today()
    base = scoping.applications(current_user).order_by(None)
    sub = base.subquery()
    counts: dict[object, int] = dict(
        db.session.execute(sa.select(sub.c.status, sa.func.count()).group_by(sub.c.status)).all()
    )
    late = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(
                base.where(Application.status.in_(OPEN), Application.due < day).subquery()
            )
        )
        or 0
    )
    return {
        "show": True,
        "open": sum(
            counts.get(s.value, 0) for s in (Status.RECEIVED, Status.CHECKED, Status.NOTICED)
        ),
        "late": late,
        "noticed": counts.get("noticed", 0),
        "waiting": counts.get("waiting", 0),
        "township": current_user.role == Role.TOWNSHIP,
    }


def person_panel(person) -> dict:
    if current_user.role not in READERS:
        return {"show": False}
    apps = db.session.scalars(
        scoping.applications(current_user)
        .where(Application.person_id == person.id)
        .order_by(Application.id.desc())
    ).all()
    return {
        "show": True,
        "apps": apps,
        "labels": STATUS_LABELS,
        "can_apply": current_user.role in DESK and person.status.value == "active",
    }


# --- the list and the desk --------------------------------------------------------------


@bp.get("/applications")
@role_required(*READERS)
def applications():
    args = request.args
    town = args.get("township") if current_user.role in BUREAU else None
    stmt = scoping.listing(
        current_user,
        args.get("kind") if args.get("kind") in ("tekun", "homecare") else None,
        args.get("status") if args.get("status") in STATUS_LABELS else None,
        town or None,
        _int(args.get("year")),
        args.get("overdue") == "1",
        (args.get("q") or "").strip()[:64] or None,
    )
    names = townships()
    if wants_export():
        return export_response(
            "applications",
            [
                _("编号"),
                _("申请事项"),
                _("姓名"),
                _("乡镇（街道）"),
                _("受理日期"),
                _("状态"),
                _("下一步时限"),
                _("逾期"),
                _("超时步骤"),
            ],
            (
                (
                    a.id,
                    _kind(a.kind.value),
                    a.person.name,
                    names.get(a.township_code, ""),
                    a.received_on,
                    str(STATUS_LABELS[a.status.value]),
                    a.due,
                    _("是") if overdue(a) else "",
                    sum(1 for s in a.steps if s.late),
                )
                for a in db.session.scalars(stmt)
            ),
        )
    # the township clerk's first page (registry.home_pages): their alerts are here
    alerts = alerts_for(current_user) if current_user.role == Role.TOWNSHIP else []
    return render_template(
        "intake/list.html",
        page=page_of(stmt, args),
        names=names,
        labels=STATUS_LABELS,
        today=local_today(),
        overdue=overdue,
        bureau=current_user.role in BUREAU,
        alerts=alerts,
    )


def _get(application_id: int) -> Application:
    """The application in the user's scope; a page answers 404 for any other (whether it
    exists is not said)."""
    try:
        return scoping.get_application(current_user, application_id)
    except NotFound:
        abort(404)


def _kind(kind: str) -> str:
    return _("特困人员救助供养") if kind == "tekun" else _("居家养老服务")


def _region_choices(form: NewApplicationForm) -> None:
    names = townships()
    own = current_user.township_code if current_user.role == Role.TOWNSHIP else None
    form.township_code.choices = choices(
        [(own, names.get(own, own))] if own else [("", "—"), *names.items()]
    )
    town = own or form.township_code.data or request.form.get("township_code")
    villages = (
        db.session.execute(
            sa.select(Region.code, Region.name)
            .where(Region.parent_code == town, Region.level == "village")
            .order_by(Region.code)
        ).all()
        if town
        else []
    )
    form.village_code.choices = choices([("", "—"), *villages])


@bp.route("/applications/new", methods=["GET", "POST"])
@role_required(*DESK)
def new():
    form = NewApplicationForm()
    _region_choices(form)
    status = 200
    if request.method == "GET":
        form.received_on.data = local_today()
        if request.args.get("kind") in ("tekun", "homecare"):
            form.kind.data = request.args["kind"]
        pid = _int(request.args.get("person_id"))
        if pid:
            person = core_scoping.get_person(current_user, pid)
            form.id_number.data = person.id_number
            form.name.data = person.name
    elif form.validate_on_submit():
        try:
            app = services.receive(
                current_user,
                services.NewApplication(
                    kind=form.kind.data,
                    received_on=form.received_on.data,
                    person=people.PersonInput(
                        name=(form.name.data or "").strip() or "—",
                        id_number=form.id_number.data.strip(),
                        phone=form.phone.data or "",
                        township_code=form.township_code.data or None,
                        village_code=form.village_code.data or None,
                        address=form.address.data or "",
                    ),
                    note=form.note.data or "",
                    year=form.year.data,
                    by_proxy=form.by_proxy.data,
                    proxy_name=form.proxy_name.data or "",
                    support_wanted=form.support.data or None,
                ),
            )
            db.session.commit()
            flash(
                _(
                    "已受理 %(name)s 的申请（#%(id)s），请在 %(due)s 前完成调查评估",
                    name=app.person.name,
                    id=app.id,
                    due=app.due.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("intake.show", application_id=app.id), 303)
        except DomainError as exc:
            db.session.rollback()
            _errors(
                form,
                exc,
                {
                    "person.id_number": "id_number",
                    "id_number": "id_number",
                    "name": "name",
                    "person_id": "id_number",
                    "township_code": "township_code",
                    "support": "support",
                },
            )
            status = 422
    else:
        status = 422
    return render_template("intake/new.html", form=form), status


def _errors(form, exc: DomainError, fields: dict[str, str], default: str | None = None) -> None:
    """Each error under the field that caused it; the rest at the top of the form."""
    placed = False
    for name, msg in (exc.fields or {}).items():
        target = fields.get(name) or fields.get(name.split(".")[0])
        field = getattr(form, target, None) if target else None
        if field is not None:
            field.errors = [*field.errors, msg]
            placed = True
    if not placed:
        field = getattr(form, default, None) if default else None
        if field is not None:
            field.errors = [*field.errors, exc.message]
        else:
            flash(exc.message, "danger")
