"""Scheduled jobs: plain functions of a period, each done once per period.

Exactly once is kept by the database, not by the scheduler: the run record
(UNIQUE(job, period)) is inserted first in the same transaction as the work. A second
process that starts the same period waits on that key and then finds it taken; a crash
rolls back the work and the record together, so the period is redone on restart.
Features register their jobs (`registry.Job`); `run_job` runs one by name.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from sqlalchemy.exc import IntegrityError

from . import faults
from .audit import Actor, current_actor, set_actor
from .database import utcnow, write_intent
from .extensions import db
from .models import Alert, JobFailure, JobRun
from .registry import Job, registry
from .timeutil import LOCAL

log = logging.getLogger(__name__)


class JobError(Exception):
    pass


@dataclass
class RunResult:
    job: str
    period: str
    done: bool  # False: this period had been done already, nothing changed
    summary: dict
    duration_ms: int = 0

    def summary_line(self) -> str:
        if not self.done:
            return f"{self.job} {self.period}: already done, nothing changed"
        parts = ", ".join(f"{k}={v}" for k, v in self.summary.items())
        return f"{self.job} {self.period}: done in {self.duration_ms} ms ({parts})"


# --- periods --------------------------------------------------------------------------

FORMATS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H"}


def parse_period(kind: str, text: str) -> datetime:
    """The local start of a period written as the job kind expects; JobError otherwise."""
    try:
        return datetime.strptime(text, FORMATS[kind]).replace(tzinfo=LOCAL)
    except (KeyError, ValueError):
        raise JobError(f"period {text!r} is not of the form {FORMATS.get(kind, '?')}") from None


def period_of(kind: str, moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime(FORMATS[kind])


def now_local() -> datetime:
    """Now in the district: the one clock the runner compares periods with (tests move it
    to a new year's night by replacing this function, or, for servers in other processes,
    with ELDERCARE_FAULT_CLOCK: eldercare/faults.py)."""
    moment = faults.clock()
    return moment.astimezone(LOCAL) if moment else datetime.now(LOCAL)


def refuse_future(kind: str, text: str, now: datetime | None = None) -> None:
    """JobError for a period that has not begun. A job's work for a period is final (the
    subsidy year expires every balance of the year before and cannot be undone), so a
    period typed one year too far must never run early; every job goes through here."""
    start = parse_period(kind, text)
    if start > (now or now_local()):
        raise JobError(
            _("时段 %(period)s 尚未开始，不能提前执行（任务完成后无法撤销）", period=text)
        )


def previous_period(kind: str, text: str) -> str:
    start = parse_period(kind, text)
    if kind == "year":
        return str(start.year - 1)
    if kind == "month":
        return (start.replace(day=1) - timedelta(days=1)).strftime(FORMATS[kind])
    step = timedelta(days=1) if kind == "day" else timedelta(hours=1)
    return (start - step).strftime(FORMATS[kind])


def default_period(job: Job, now: datetime | None = None) -> str:
    """The period a run started now is for: the job's own rule (job.default_period) or
    the current period."""
    now = now or now_local()
    rule = getattr(job, "default_period", None)
    if rule:
        return rule(now.astimezone(LOCAL))
    return period_of(job.period_kind, now)


# --- running --------------------------------------------------------------------------


def get_job(name: str) -> Job:
    job = registry().jobs.get(name)
    if job is None:
        known = ", ".join(sorted(registry().jobs)) or "none"
        raise JobError(f"no job {name!r} (known: {known})")
    return job


def already_done(name: str, period: str) -> bool:
    return (
        db.session.scalar(sa.select(JobRun.id).where(JobRun.job == name, JobRun.period == period))
        is not None
    )


def run_job(
    name: str, period: str | None = None, *, trigger: str = "cli", user_id: int | None = None
) -> RunResult:
    """Do job `name` for `period` once. Returns done=False when the period was done
    already (by this or any other process). A failure rolls everything back, is recorded
    in job_failures, and is raised again."""
    job = get_job(name)
    period = period or default_period(job)
    refuse_future(job.period_kind, period)
    db.session.rollback()  # a fresh transaction, taken with the write lock on SQLite
    token = write_intent.set(True)
    actor = set_actor(Actor(user_id, f"job:{name}")) if user_id is None else None
    started = time.perf_counter()
    try:
        if already_done(name, period):
            return RunResult(name, period, False, {})
        run = JobRun(job=name, period=period, trigger=trigger, user_id=user_id, started_at=utcnow())
        db.session.add(run)
        try:
            db.session.flush()  # takes the unique key: a second process waits here
        except IntegrityError:
            db.session.rollback()
            return RunResult(name, period, False, {})
        summary = job.run(period) or {}
        faults.pause("job-worked")  # tests only: the work done, not yet committed
        elapsed = int((time.perf_counter() - started) * 1000)
        run.summary, run.finished_at, run.duration_ms = summary, utcnow(), elapsed
        db.session.commit()
        return RunResult(name, period, True, summary, elapsed)
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, IntegrityError) and already_done(name, period):
            return RunResult(name, period, False, {})
        db.session.add(
            JobFailure(
                job=name,
                period=period,
                trigger=trigger,
                error="".join(traceback.format_exception_only(exc))[-2000:],
            )
        )
        db.session.commit()
        log.exception("job %s %s failed", name, period)
        raise
    finally:
        write_intent.reset(token)
        if actor is not None:
            current_actor.reset(actor)


def missed_periods(job: Job, now: datetime | None = None, limit: int = 3) -> list[str]:
    """The latest periods up to now that have no run, oldest first (at most `limit`):
    what a scheduler that was down should catch up on when it starts."""
    current = default_period(job, now)
    periods, p = [], current
    for _step in range(limit):
        periods.append(p)
        p = previous_period(job.period_kind, p)
    done = set(
        db.session.scalars(
            sa.select(JobRun.period).where(JobRun.job == job.name, JobRun.period.in_(periods))
        )
    )
    first_ever = db.session.scalar(
        sa.select(sa.func.min(JobRun.period)).where(JobRun.job == job.name)
    )
    todo = [p for p in reversed(periods) if p not in done]
    if first_ever is None:
        return todo[-1:]  # a new installation starts with the current period only
    return [p for p in todo if p >= first_ever]


def catch_up(now: datetime | None = None) -> list[RunResult]:
    results = []
    for job in registry().jobs.values():
        for period in missed_periods(job, now):
            try:
                results.append(run_job(job.name, period, trigger="catch-up"))
            except Exception:  # recorded in job_failures; the others still run
                log.warning("catch-up of %s %s failed", job.name, period)
    return results


# --- alerts (the core's job: features supply the sources) ------------------------------


def run_alerts(period: str) -> dict:
    """Replace the day's alerts with what every registered source finds today."""
    day = date.fromisoformat(period)
    db.session.execute(sa.delete(Alert).where(Alert.day == period))
    made = 0
    for source in registry().alert_sources:
        for draft in source(day):
            message = draft.pop("message")
            # a lazy string (_l("… %(n)s …", n=…)) keeps its catalogue entry and values,
            # so each reader gets it in their language (Alert.text)
            lazy = isinstance(message, LazyString)
            db.session.add(
                Alert(
                    day=period,
                    message=str(message)[:300],
                    template=message._args[0] if lazy else "",
                    params=dict(message._kwargs) if lazy else None,
                    **draft,
                )
            )
            made += 1
    db.session.flush()
    return {"alerts": made}


ALERTS = Job(
    name="alerts",
    run=run_alerts,
    period_kind="day",
    schedule={"hour": 7, "minute": 0},
    description="balances nearly used, annual reviews due, homes nearly full",
)


def alerts_for(user) -> list[Alert]:
    """Today's (or the latest) alerts that concern `user`."""
    latest = db.session.scalar(sa.select(sa.func.max(Alert.day)))
    if latest is None:
        return []
    stmt = sa.select(Alert).where(Alert.day == latest)
    role = user.role.value
    if role in ("admin", "auditor"):
        stmt = stmt.where(Alert.role == "admin")
    elif role == "manager":
        stmt = stmt.where(Alert.role == "manager", Alert.facility_id == user.facility_id)
    elif role == "provider":
        stmt = stmt.where(Alert.role == "provider", Alert.provider_id == user.provider_id)
    elif role == "township":
        stmt = stmt.where(Alert.role == "township", Alert.township_code == user.township_code)
    else:
        return []
    return list(db.session.scalars(stmt.order_by(Alert.kind).limit(50)))


# --- the scheduler --------------------------------------------------------------------


RETRY_MINUTES = (5, 15, 45)  # a failed scheduled run is tried again for its period


def scheduled_run(app, scheduler, name: str, period: str | None = None, attempt: int = 0):
    """One run of job `name` by the scheduler. A failure (recorded in job_failures by
    run_job: the database restarting at 00:30 on 1 January, a deadlock) is tried again
    for the same period after each of RETRY_MINUTES; after the last, the period waits
    for the next start's catch-up or a run from the jobs page. Without this, a period
    whose one scheduled run failed stayed undone until the scheduler was restarted."""
    with app.app_context():
        period = period or default_period(get_job(name))
        try:
            run_job(name, period, trigger="scheduler")
        except Exception:  # recorded where the database allows; the scheduler keeps going
            if attempt >= len(RETRY_MINUTES):
                log.error(
                    "scheduled job %s %s failed %d times; left for catch-up or the jobs page",
                    name,
                    period,
                    attempt + 1,
                )
                return
            delay = RETRY_MINUTES[attempt]
            log.warning("scheduled job %s %s failed; trying again in %d min", name, period, delay)
            scheduler.add_job(
                scheduled_run,
                "date",
                run_date=datetime.now(LOCAL) + timedelta(minutes=delay),
                args=[app, scheduler, name, period, attempt + 1],
                id=f"{name}:{period}:retry",
                replace_existing=True,
            )


def start_scheduler(app, *, blocking: bool = False):
    """APScheduler on each job's calendar (Asia/Shanghai), after catching up missed
    periods. Run one scheduler per deployment; the run records keep a second harmless."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    with app.app_context():
        catch_up()
        jobs = list(registry().jobs.values())
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=str(LOCAL),
        job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
    )
    for job in jobs:
        scheduler.add_job(
            scheduled_run,
            CronTrigger(timezone=LOCAL, **job.schedule),
            args=[app, scheduler, job.name],
            id=job.name,
            name=str(job.description or job.name),
        )
    scheduler.start()
    return scheduler


PARENT_ENV = "ELDERCARE_SCHEDULER_PARENT"


def follow_parent() -> None:
    """Started by `eldercare serve --scheduler`: stop when that server goes, even if it
    was killed outright (SIGKILL: it could not stop its child), or a restarted server
    would start a second scheduler. A thread watches from the process's first moment, so
    a server killed while this one is still starting or catching up is noticed too (a
    job that watched only once the scheduler ran was late under load)."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(0.5)
        log.warning("scheduler: the server (pid %s) is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
