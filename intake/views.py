"""Pages of intake: the applications list and desk, one page per application with the
form of its next step for the role that does it, the village notices, the home-care
waiting list and eligibility rules, the figures. Thin: form → service → commit → flash
→ redirect; on an error the page again with the error under its field (422)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from eldercare import scoping as core_scoping
from eldercare.auth.web import role_required
from eldercare.errors import DomainError, NotFound
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.models import Region, Role
from eldercare.pagination import Page, page_of
from eldercare.people import services as people
from eldercare.people.forms import choices
from eldercare.templating import LABELS
from eldercare.timeutil import local_today
from homecare import services as homecare
from homecare.models import Provider, ProviderTownship

from . import figures, rules, scoping, services
from .care import PlanLine
from .deadlines import ITEMS
from .forms import (
    CheckForm,
    DecideForm,
    EnrolForm,
    NewApplicationForm,
    NoticeForm,
    PlaceForm,
    PlanForm,
    WithdrawForm,
)
from .models import OPEN, Application, Kind, Status
from .serializers import overdue

bp = Blueprint("intake", __name__)
READERS, DESK, BUREAU = scoping.READERS, scoping.DESK, scoping.BUREAU
ADMIN = (Role.ADMIN,)
STATUS_LABELS = {"received": _l("已受理"), "checked": _l("已调查评估"), "noticed": _l("公示中"),
                 "approved": _l("已确认"), "refused": _l("不予确认"), "waiting": _l("轮候中"),
                 "withdrawn": _l("已撤回")}


def townships() -> dict[str, str]:
    return figures.township_names()


def _villages(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(sa.select(Region.code, Region.name)
                                   .where(Region.code.in_(codes))).all())


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
    counts = dict(db.session.execute(sa.select(sub.c.status, sa.func.count())
                                     .group_by(sub.c.status)).all())
    late = db.session.scalar(sa.select(sa.func.count()).select_from(
        base.where(Application.status.in_(OPEN), Application.due < day).subquery())) or 0
    return {"show": True, "open": sum(counts.get(s.value, 0) for s in
                                      (Status.RECEIVED, Status.CHECKED, Status.NOTICED)),
            "late": late, "noticed": counts.get("noticed", 0),
            "waiting": counts.get("waiting", 0),
            "township": current_user.role == Role.TOWNSHIP}


def person_panel(person) -> dict:
    if current_user.role not in READERS:
        return {"show": False}
    apps = db.session.scalars(scoping.applications(current_user).where(
        Application.person_id == person.id).order_by(Application.id.desc())).all()
    return {"show": True, "apps": apps, "labels": STATUS_LABELS,
            "can_apply": current_user.role in DESK and person.status.value == "active"}


# --- the list and the desk --------------------------------------------------------------


@bp.get("/applications")
@role_required(*READERS)
def applications():
    args = request.args
    town = args.get("township") if current_user.role in BUREAU else None
    stmt = scoping.listing(current_user, args.get("kind") if args.get("kind") in
                           ("tekun", "homecare") else None,
                           args.get("status") if args.get("status") in STATUS_LABELS else None,
                           town or None, _int(args.get("year")), args.get("overdue") == "1",
                           (args.get("q") or "").strip()[:64] or None)
    names = townships()
    if wants_export():
        return export_response(
            "applications", ["编号", "申请事项", "姓名", "乡镇（街道）", "受理日期", "状态",
                             "下一步时限", "逾期", "超时步骤"],
            ((a.id, _kind(a.kind.value), a.person.name, names.get(a.township_code, ""),
              a.received_on, str(STATUS_LABELS[a.status.value]), a.due,
              _("是") if overdue(a) else "", sum(1 for s in a.steps if s.late))
             for a in db.session.scalars(stmt)))
    return render_template("intake/list.html", page=page_of(stmt, args), names=names,
                           labels=STATUS_LABELS, today=local_today(), overdue=overdue,
                           bureau=current_user.role in BUREAU)


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
    form.township_code.choices = choices([(own, names.get(own, own))] if own else
                                         [("", "—"), *names.items()])
    town = own or form.township_code.data or request.form.get("township_code")
    villages = db.session.execute(sa.select(Region.code, Region.name).where(
        Region.parent_code == town, Region.level == "village").order_by(Region.code)
    ).all() if town else []
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
            app = services.receive(current_user, services.NewApplication(
                kind=form.kind.data, received_on=form.received_on.data,
                person=people.PersonInput(
                    name=(form.name.data or "").strip() or "—",
                    id_number=form.id_number.data.strip(), phone=form.phone.data or "",
                    township_code=form.township_code.data or None,
                    village_code=form.village_code.data or None,
                    address=form.address.data or ""),
                note=form.note.data or "", year=form.year.data,
                by_proxy=form.by_proxy.data, proxy_name=form.proxy_name.data or "",
                support_wanted=form.support.data or None))
            db.session.commit()
            flash(_("已受理 %(name)s 的申请（#%(id)s），请在 %(due)s 前完成调查评估",
                    name=app.person.name, id=app.id, due=app.due.isoformat()), "success")
            return redirect(url_for("intake.show", application_id=app.id), 303)
        except DomainError as exc:
            db.session.rollback()
            _errors(form, exc, {"person.id_number": "id_number", "id_number": "id_number",
                                "name": "name", "person_id": "id_number",
                                "township_code": "township_code", "support": "support"})
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


# --- one application ----------------------------------------------------------------------


def _forms(app: Application) -> dict:
    today = local_today()
    check = CheckForm(formdata=None, on=today)
    check.services.choices = choices([(s.code, s.name) for s in homecare.catalogue(app.year)])
    providers = db.session.execute(
        sa.select(Provider.id, Provider.name).join(ProviderTownship)
        .where(ProviderTownship.township_code == app.township_code).order_by(Provider.name)
    ).all()
    enrol = EnrolForm(formdata=None, agreed_on=today)
    enrol.provider_id.choices = choices(providers)
    return {"check": check, "notice": NoticeForm(formdata=None, start=today),
            "plan": PlanForm(formdata=None, on=today),
            "decide": DecideForm(formdata=None, on=today),
            "enrol": enrol, "withdraw": WithdrawForm(formdata=None, on=today),
            "place": PlaceForm(formdata=None)}


STEP_LABELS = {"receive": _l("受理"), "check": _l("调查核实与六项评估"),
               "notice": _l("村（社区）公示7天"), "plan": _l("服务计划"),
               "decide": _l("民政局决定"), "place": _l("轮候后获得名额"),
               "enrol": _l("签订服务协议、登记服务组织"), "withdraw": _l("撤回")}
EXPECTED = {Kind.TEKUN: ("receive", "check", "notice", "decide"),
            Kind.HOMECARE: ("receive", "check", "plan", "decide", "enrol")}


def timeline(app: Application) -> list[dict]:
    """The steps of the application's kind, done or to do, each with its deadline; the
    next one carries the application's current deadline."""
    done = {s.step.value: s for s in app.steps}
    names = list(EXPECTED[app.kind])
    if "place" in done or app.status == Status.WAITING:
        names.insert(names.index("enrol"), "place")
    if "withdraw" in done:
        names = [n for n in names if n in done] + ["withdraw"]
    out, next_found = [], False
    for name in names:
        row = done.get(name)
        is_next = row is None and not next_found and app.status in (*OPEN, Status.APPROVED)
        next_found = next_found or is_next
        out.append({"step": name, "label": STEP_LABELS[name], "row": row, "next": is_next,
                    "due": row.due if row is not None else (app.due if is_next else None)})
    return out


def _page(app: Application, forms: dict | None = None, status: int = 200):
    base = _forms(app)
    base.update(forms or {})
    names = townships()
    catalogue = homecare.catalogue(app.year)
    return render_template(
        "intake/show.html", app=app, forms=base, names=names, labels=STATUS_LABELS,
        timeline=timeline(app), step_labels=STEP_LABELS,
        villages=_villages([app.village_code]), today=local_today(), items=ITEMS,
        catalogue=catalogue, overdue=overdue(app), desk=current_user.role in DESK,
        admin=current_user.role == Role.ADMIN, subsidy=homecare.subsidy_for(app.year),
        plan_values=request.form if request.method == "POST" else {}), status


@bp.get("/applications/<int:application_id>")
@role_required(*READERS)
def show(application_id: int):
    return _page(_get(application_id))


def _done(app: Application, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("intake.show", application_id=app.id), 303)


def _step(application_id: int, key: str, form, run, fields: dict[str, str], message):
    """Run a step from its form: the service, commit, back to the application; on an
    error the application's page again with the error under its field (422)."""
    app = _get(application_id)
    if form.validate_on_submit():
        try:
            run(app)
            return _done(app, message(app))
        except DomainError as exc:
            db.session.rollback()
            app = _get(application_id)
            _errors(form, exc, fields, default=next(iter(fields.values()), None))
    return _page(app, {key: form}, 422)


@bp.post("/applications/<int:application_id>/check")
@role_required(*DESK)
def check(application_id: int):
    form = CheckForm()
    form.services.choices = choices([(c, c) for c in request.form.getlist("services")])

    def run(app):
        services.check(app, current_user, services.CheckInput(
            assessment={k: getattr(form, k).data == "1" for k in ITEMS}, on=form.on.data,
            note=form.note.data or "", lives_alone=form.lives_alone.data,
            services=form.services.data or []))

    return _step(application_id, "check", form, run,
                 {"on": "on", "services": "services", **{f"assessment.{k}": k for k in ITEMS}},
                 lambda app: _("已记录调查评估：自理能力 %(level)s",
                               level=str(_care(app.care_level))))


def _care(level) -> str:
    return LABELS["care"].get(getattr(level, "value", level), "—")


@bp.post("/applications/<int:application_id>/notice")
@role_required(*DESK)
def notice(application_id: int):
    form = NoticeForm()
    return _step(application_id, "notice", form,
                 lambda app: services.notice(app, current_user, form.start.data),
                 {"from": "start", "on": "start"},
                 lambda app: _("公示 %(a)s 至 %(b)s", a=app.notice_from.isoformat(),
                               b=app.notice_until.isoformat()))


def _plan_lines(app: Application) -> list[PlanLine]:
    lines = []
    for s in homecare.catalogue(app.year):
        raw = (request.form.get(f"per_month-{s.code}") or "").strip()
        if raw:
            try:
                lines.append(PlanLine(s.code, Decimal(raw)))
            except InvalidOperation:
                lines.append(PlanLine(s.code, Decimal(-1)))
    return lines


@bp.post("/applications/<int:application_id>/plan")
@role_required(*DESK)
def plan(application_id: int):
    form = PlanForm()
    return _step(application_id, "plan", form,
                 lambda app: services.plan(app, current_user, _plan_lines(app), form.on.data),
                 {"on": "on", "lines": "on"},
                 lambda app: _("服务计划：全年 %(t)s，补贴 %(s)s，自付 %(p)s",
                               t=f"¥{app.plan_total:,.2f}", s=f"¥{app.plan_subsidy:,.2f}",
                               p=f"¥{app.plan_self_paid:,.2f}"))


@bp.post("/applications/<int:application_id>/decide")
@role_required(*ADMIN)
def decide(application_id: int):
    form = DecideForm()

    def run(app):
        services.decide(app, current_user, services.Decision(
            approved=form.approved.data == "1", reasons=form.reasons.data or "",
            category=form.category.data or None, support=form.support.data or None,
            on=form.on.data))

    def message(app):
        if app.status == Status.APPROVED and app.kind == Kind.TEKUN:
            return _("已确认，特困供养自 %(d)s 起", d=app.support_from.isoformat())
        if app.status == Status.WAITING:
            return _("本年度名额已满，已列入轮候")
        return _("已决定：%(s)s", s=str(STATUS_LABELS[app.status.value]))

    return _step(application_id, "decide", form, run,
                 {"reasons": "reasons", "on": "on", "category": "category",
                  "support": "support"}, message)


@bp.post("/applications/<int:application_id>/place")
@role_required(*ADMIN)
def place(application_id: int):
    """The waiting list's button: the place, if one is free now."""
    PlaceForm().validate_on_submit() or abort(400)
    app = _get(application_id)
    services.decide(app, current_user, services.Decision(approved=True))
    db.session.commit()
    flash(_("%(name)s 已获得名额，请签订服务协议", name=app.person.name), "success")
    return redirect(request.referrer or url_for("intake.waiting"), 303)


@bp.post("/applications/<int:application_id>/enrol")
@role_required(*ADMIN)
def enrol(application_id: int):
    form = EnrolForm()
    form.provider_id.choices = []
    return _step(application_id, "enrol", form,
                 lambda app: services.enrol(app, current_user, form.provider_id.data,
                                            form.agreed_on.data),
                 {"provider_id": "provider_id", "agreed_on": "agreed_on"},
                 lambda app: _("已签订服务协议并登记居家养老服务"))


@bp.post("/applications/<int:application_id>/withdraw")
@role_required(*DESK)
def withdraw(application_id: int):
    form = WithdrawForm()
    return _step(application_id, "withdraw", form,
                 lambda app: services.withdraw(app, current_user, form.reason.data, form.on.data),
                 {"reason": "reason", "on": "on"}, lambda app: _("申请已撤回"))


# --- notices, waiting list, rules, figures ------------------------------------------------


@bp.get("/applications/notices")
@role_required(*READERS)
def notices():
    """特困 applications whose 7-day notice covers the chosen day, a page per township;
    printable, without ID numbers."""
    day = _date(request.args.get("day")) or local_today()
    stmt = (scoping.applications(current_user)
            .where(Application.kind == Kind.TEKUN, Application.notice_from <= day,
                   Application.notice_until >= day)
            .order_by(Application.township_code, Application.notice_from, Application.id))
    items = db.session.scalars(stmt).all()
    groups: dict[str, list[Application]] = {}
    for a in items:
        groups.setdefault(a.township_code, []).append(a)
    return render_template("intake/notices.html", groups=groups, names=townships(),
                           villages=_villages(a.village_code for a in items), day=day)


@bp.get("/homecare/waiting-list")
@role_required(*READERS)
def waiting():
    year = _int(request.args.get("year")) or local_today().year
    page_no = max(1, _int(request.args.get("page")) or 1)
    data = figures.waiting_page(current_user, year, page_no, 50)
    if wants_export():
        all_rows = figures.waiting_page(current_user, year, 1, 100_000)["items"]
        names = townships()
        return export_response(f"homecare-waiting-{year}",
                               ["名次", "姓名", "乡镇（街道）", "需求评分", "理由", "轮候天数"],
                               ((e["rank"], e["name"], names.get(e["township_code"], ""),
                                 e["score"], "；".join(e["reasons"]), e["days_waiting"])
                                for e in all_rows))
    page = Page(data["items"], data["total"], page_no, 50)
    return render_template("intake/waiting.html", data=data, page=page, year=year,
                           names=townships(), form=PlaceForm(formdata=None),
                           admin=current_user.role == Role.ADMIN,
                           free=data["places"] - data["taken"])


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
    out = render_template("intake/eligibility.html", year=year, rows=rows, inherited=inherited,
                          places=rules.places_row(year).places, taken=rules.places_taken(year),
                          form=form, categories=sorted(rules.CATEGORIES),
                          levels=("self", "partial", "full"),
                          admin=current_user.role == Role.ADMIN)
    db.session.commit()  # the year's places row, made on first sight
    return out, status


def _rules_from_form() -> list[dict]:
    out = []
    for i in range(50):
        code = (request.form.get(f"code-{i}") or "").strip()
        if not code or request.form.get(f"delete-{i}"):
            continue
        age = (request.form.get(f"min_age-{i}") or "").strip()
        out.append({"code": code, "label": (request.form.get(f"label-{i}") or "").strip(),
                    "min_age": int(age) if age.isdigit() else None,
                    "categories": request.form.getlist(f"categories-{i}"),
                    "care_levels": request.form.getlist(f"care_levels-{i}")})
    return out


@bp.get("/applications/figures")
@role_required(*BUREAU)
def figures_page():
    year = _int(request.args.get("year")) or local_today().year
    f = figures.figures(year)
    names = {"tekun": _("特困"), "homecare": _("居家养老")}
    steps = {"check": _("调查评估"), "notice": _("公示"), "plan": _("服务计划"),
             "decide": _("决定"), "place": _("轮候获得名额"), "enrol": _("签订协议")}
    charts = {
        "townships": {"labels": [t["township"] for t in f["townships"]],
                      "series": [{"label": _("在办"), "data": [t["received"] + t["checked"]
                                                             + t["noticed"]
                                                             for t in f["townships"]]},
                                 {"label": _("已确认"), "data": [t["approved"]
                                                              for t in f["townships"]]},
                                 {"label": _("不予确认"), "data": [t["refused"]
                                                               for t in f["townships"]]},
                                 {"label": _("轮候"), "data": [t["waiting"]
                                                             for t in f["townships"]]}]},
        "steps": {"labels": [f"{names[s['kind']]}·{steps[s['step']]}" for s in f["steps"]],
                  "series": [{"label": _("按时"), "data": [s["done"] - s["late"]
                                                          for s in f["steps"]]},
                             {"label": _("超时"), "data": [s["late"] for s in f["steps"]]}]},
    }
    try:  # dynamic management's figures count what the entrants' lists found, if loaded
        entrants_url = url_for("dynamic.figures_page")
    except BuildError:
        entrants_url = None
    return render_template("intake/figures.html", f=f, charts=charts, kinds=names,
                           step_names=steps, year=year, entrants_url=entrants_url)
