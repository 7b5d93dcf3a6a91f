"""The jobs page for admins: each job's calendar, its last runs and failures, run now."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .auth.web import role_required
from .exports import wants_export
from .extensions import db
from .jobs import JobError, default_period, run_job
from .jobs_export import jobs_export
from .models import JobFailure, JobRun, Role
from .registry import NavItem, registry

bp = Blueprint("jobs", __name__)


@bp.record_once
def _nav(state):
    state.app.extensions["eldercare"].nav.append(
        NavItem("jobs.index", _l("定时任务"), (Role.ADMIN,), 85)
    )


@bp.get("/jobs")
@role_required(Role.ADMIN)
def index():
    if wants_export():
        return jobs_export()
    jobs = sorted(registry().jobs.values(), key=lambda j: j.name)
    runs = {
        j.name: list(
            db.session.scalars(
                sa.select(JobRun)
                .where(JobRun.job == j.name)
                .order_by(JobRun.period.desc())
                .limit(5)
            )
        )
        for j in jobs
    }
    failures = list(
        db.session.scalars(sa.select(JobFailure).order_by(JobFailure.id.desc()).limit(10))
    )
    return render_template(
        "jobs.html",
        jobs=jobs,
        runs=runs,
        failures=failures,
        defaults={j.name: default_period(j) for j in jobs},
    )


@bp.post("/jobs/<name>/run")
@role_required(Role.ADMIN)
def run(name: str):
    period = (request.form.get("period") or "").strip() or None
    try:
        result = run_job(name, period, trigger="page", user_id=current_user.id)
    except JobError as exc:
        flash(str(exc), "danger")
    except Exception:  # recorded in job_failures, shown on the page
        flash(_("任务执行失败，已回滚，详见下方失败记录"), "danger")
    else:
        if result.done:
            flash(
                _(
                    "%(job)s %(period)s 已完成：%(s)s",
                    job=name,
                    period=result.period,
                    s=result.summary,
                ),
                "success",
            )
        else:
            flash(
                _("%(job)s %(period)s 此前已执行过，未重复执行", job=name, period=result.period),
                "info",
            )
    return redirect(url_for("jobs.index"))
