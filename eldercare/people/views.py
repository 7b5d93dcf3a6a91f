"""People pages: search, view, add, edit, record a death, reveal a full ID number."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import scoping
from ..auth.web import role_required
from ..errors import DomainError, NotFound
from ..exports import export_response, wants_export
from ..extensions import db
from ..models import Category, Person, PersonCategory, PersonStatus, Region, Role
from ..pagination import page_of
from ..registry import NavItem, registry
from ..search import search_text
from ..timeutil import local_today
from . import export, services
from .forms import DateForm, PersonForm, WubaoForm, choices

bp = Blueprint("people", __name__)
ALL = tuple(Role)
STAFF = (Role.ADMIN, Role.AUDITOR, Role.MANAGER, Role.PROVIDER, Role.TOWNSHIP)


@bp.record_once
def _nav(state):
    state.app.extensions["eldercare"].nav.append(NavItem("people.index", _l("人员"), STAFF, 10))


def townships() -> list[Region]:
    return list(
        db.session.scalars(
            sa.select(Region).where(Region.level == "township").order_by(Region.code)
        )
    )


def _filtered(args) -> sa.Select:
    stmt = services.search(
        scoping.people(current_user), search_text(args), whole=scoping.sees_full_id(current_user)
    )
    if args.get("township"):
        stmt = stmt.where(Person.township_code == args["township"])
    if args.get("status") in {s.value for s in PersonStatus}:
        stmt = stmt.where(Person.status == args["status"])
    if args.get("category") in {c.value for c in Category}:
        stmt = stmt.where(Person.categories.any(PersonCategory.category == args["category"]))
    return stmt.order_by(Person.id)


@bp.get("/people")
@role_required(*STAFF)
def index():
    stmt = _filtered(request.args)
    if wants_export():
        return _export(stmt)
    page = page_of(stmt, request.args)
    return render_template(
        "people/index.html",
        page=page,
        townships=townships(),
        sees_full=scoping.sees_full_id(current_user),
        today=local_today(),
    )


def _export(stmt: sa.Select):
    """The list as a spreadsheet (eldercare/people/export.py)."""
    names = {r.code: r.name for r in townships()}
    return export.response(stmt, names, scoping.sees_full_id(current_user), local_today())


def _form_choices(form: PersonForm) -> None:
    form.township_code.choices = choices([("", "—")] + [(t.code, t.name) for t in townships()])
    code = form.township_code.data or ""
    villages: list[Region] = []
    if code:
        villages = list(
            db.session.scalars(
                sa.select(Region)
                .where(Region.level == "village", Region.parent_code == code)
                .order_by(Region.code)
            )
        )
    form.village_code.choices = choices([("", "—")] + [(v.code, v.name) for v in villages])


def _input(form: PersonForm) -> services.PersonInput:
    return services.PersonInput(
        name=form.name.data,
        id_number=form.id_number.data,
        phone=form.phone.data or "",
        township_code=form.township_code.data or None,
        village_code=form.village_code.data or None,
        address=form.address.data or "",
        care_level=form.care_level.data or None,
        emergency_contact=form.emergency_contact.data or "",
        health_notes=form.health_notes.data or "",
        categories=tuple(form.categories.data or ()),
        home_lat=form.home_lat.data,
        home_lng=form.home_lng.data,
    )


def _save(form: PersonForm, person: Person | None):
    """Validate and store; a domain error goes under its field and nothing typed is lost."""
    try:
        if person is None:
            person = services.create_person(_input(form))
        else:
            services.update_person(person, _input(form))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        for name, msg in (exc.fields or {"name": exc.message}).items():
            field = getattr(form, name, None) or form.name
            field.errors = [*field.errors, msg]
        return None
    flash(_("已保存：%(name)s", name=person.name), "success")
    return redirect(url_for("people.show", person_id=person.id))


@bp.route("/people/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new():
    form = PersonForm()
    _form_choices(form)
    if form.validate_on_submit() and (done := _save(form, None)):
        return done
    return render_template("people/form.html", form=form, person=None), (
        422 if request.method == "POST" else 200
    )


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(person_id: int):
    person = scoping.get_person(current_user, person_id)
    form = PersonForm(obj=person)
    if request.method == "GET":
        form.id_number.data = person.id_number  # editing needs the real number
        form.categories.data = [c.value for c in person.category_set]
        form.care_level.data = person.care_level.value if person.care_level else ""
        services.reveal_id_number(person)
        db.session.commit()
    _form_choices(form)
    if form.validate_on_submit() and (done := _save(form, person)):
        return done
    return render_template("people/form.html", form=form, person=person), (
        422 if request.method == "POST" else 200
    )


@bp.get("/people/<int:person_id>")
@role_required(*STAFF)
def show(person_id: int):
    person = scoping.get_person(current_user, person_id)
    panels = [(tpl, fn(person)) for tpl, fn in registry().person_panels]
    regions = {
        r.code: r.name
        for r in db.session.scalars(
            sa.select(Region).where(
                Region.code.in_([c for c in (person.township_code, person.village_code) if c])
            )
        )
    }
    return render_template(
        "people/show.html",
        person=person,
        panels=panels,
        regions=regions,
        today=local_today(),
        death_form=DateForm(),
        wubao_form=WubaoForm(),
        sees_full=scoping.sees_full_id(current_user),
        sees_health=scoping.sees_health(current_user),
    )


@bp.post("/people/<int:person_id>/reveal")
@role_required(*scoping.FULL_ID_ROLES)
def reveal(person_id: int):
    """Show the full ID number once; the read is in the audit log."""
    person = scoping.get_person(current_user, person_id)
    number = services.reveal_id_number(person)
    db.session.commit()
    return render_template("people/reveal.html", person=person, number=number)


@bp.post("/people/<int:person_id>/death")
@role_required(Role.ADMIN)
def death(person_id: int):
    person = scoping.get_person(current_user, person_id)
    form = DateForm()
    if not form.validate_on_submit():
        flash(_("请填写有效的死亡日期"), "danger")
    else:
        services.record_death(person, form.date.data)
        db.session.commit()
        flash(_("已登记 %(name)s 去世，相关床位与服务已结束", name=person.name), "success")
    return redirect(url_for("people.show", person_id=person.id))


@bp.post("/people/<int:person_id>/wubao")
@role_required(Role.ADMIN)
def wubao(person_id: int):
    person = scoping.get_person(current_user, person_id)
    form = WubaoForm()
    if not form.validate_on_submit():
        flash(_("特困供养信息有误：%(e)s", e=form.errors), "danger")
    else:
        services.start_wubao(
            person,
            form.category.data,
            form.support.data,
            form.since.data,
            form.applied_centralized_on.data,
        )
        db.session.commit()
        flash(_("已记录特困供养"), "success")
    return redirect(url_for("people.show", person_id=person.id))


@bp.get("/regions/<code>/villages")
@role_required(Role.ADMIN)
def villages(code: str):
    """Villages of a township, for the person form's second select."""
    rows = db.session.scalars(
        sa.select(Region)
        .where(Region.level == "village", Region.parent_code == code)
        .order_by(Region.code)
    )
    return {"items": [{"code": r.code, "name": r.name} for r in rows]}


@bp.route("/people/import", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def import_page():
    """Upload a roster. It becomes an import job: a check (preview with every bad row
    named) or an import (all or nothing); the job's page shows its progress."""
    from .. import tabular
    from ..models.imports import ImportJob
    from . import import_jobs

    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("请选择 .xlsx 或 .csv 文件"), "danger")
        else:
            content = upload.read()
            try:
                tabular.sniff(content)
            except tabular.TableError as exc:
                flash(exc.message, "danger")
            else:
                kind = "import" if request.form.get("confirm") == "1" else "check"
                job = import_jobs.create_job(content, upload.filename, kind, current_user)
                db.session.commit()
                import_jobs.start_job(job)
                return redirect(url_for("people.import_job", job_id=job.id), 303)
        status = 422
    else:
        status = 200
    jobs = db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id.desc()).limit(10)).all()
    for job in jobs:
        import_jobs.refresh_stale(job)
    return render_template("people/import.html", report=None, job=None, jobs=jobs), status


@bp.get("/people/import/<int:job_id>")
@role_required(Role.ADMIN)
def import_job(job_id: int):
    """A job's page; JSON for the page's polling (Accept: application/json); its
    problems as a spreadsheet with ?format=xlsx|csv."""
    from flask import jsonify

    from ..models.imports import ImportJob
    from . import import_jobs, roster

    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("未找到该导入任务")
    import_jobs.refresh_stale(job)
    if wants_export():
        return export_response(
            f"import-{job.id}-problems",
            ["类型", "行", "序号", "列", "说明"],
            roster.problems(job.report or {}),
        )
    if request.accept_mimetypes.best == "application/json" or request.args.get("json"):
        resp = jsonify(import_jobs.job_json(job))
        resp.headers["Vary"] = "Accept"
        return resp
    report = job.report or None
    return render_template(
        "people/import.html", job=job, report=report, jobs=[], info=import_jobs.job_json(job)
    )


@bp.post("/people/import/<int:job_id>/confirm")
@role_required(Role.ADMIN)
def import_confirm(job_id: int):
    """Import the file that was checked without errors (once, however often clicked)."""
    from ..models.imports import ImportJob
    from . import import_jobs

    if not import_jobs.confirm_job(job_id):
        db.session.rollback()
        flash(_("该文件不能再导入（检查有错误、已经导入或已过期），请重新上传。"), "warning")
        return redirect(url_for("people.import_job", job_id=job_id), 303)
    db.session.commit()
    import_jobs.start_job(db.session.get_one(ImportJob, job_id))
    return redirect(url_for("people.import_job", job_id=job_id), 303)
