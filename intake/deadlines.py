"""Deadlines of the steps.

特困 (特困人员认定办法, 民发〔2021〕43号): the township checks within 15 working days of
receiving the application (入户调查, the six-item self-care assessment, income and
supporters); its opinion is put up in the village promptly (及时) for 7 days — how many
working days "promptly" is, the bureau sets (intake/settings.py, 3 by default); the
county bureau decides within 15 working days of getting the file after the notice, and
support starts the month after the decision.

Home care (GB/T 43153-2023 gives the process, not the days): the bureau's own service
standard, set per year on /homecare/eligibility (intake/settings.py; placeholders until
it does).

Working days are the core's calendar (eldercare/workdays.py: Monday to Friday, less the
statutory holidays, plus the weekends worked in exchange, as the bureau enters them from
the State Council's notice); every deadline here is counted through it.

Deadlines stored with applications: a step done keeps the deadline that applied and
whether it was late (application_steps: what the clerk was held to on the day, and what
the figures have counted since). The deadline still running (applications.due) is
counted again when the calendar changes across it (`recount_running`): a holiday entered
late, or next year's calendar entered in December, must move the deadlines not yet
reached, or clerks are told a step is late that is not.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import sqlalchemy as sa

from eldercare import audit, workdays
from eldercare.database import rowcount
from eldercare.extensions import db

from . import settings
from .models import OPEN, Application, Kind, Status, Step

NOTICE_DAYS = 7


def add_working_days(day: date, n: int) -> date:
    """The n-th working day after `day` (the core's calendar)."""
    return workdays.add_working_days(day, n)


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b` (0 when b <= a)."""
    return workdays.working_days_between(a, b)


def due_after(kind: Kind, step: Step, since: date) -> date | None:
    """The deadline of `step` counted from `since`, with the days in force that year
    (None where no deadline runs)."""
    n = settings.step_days(kind, step, since.year)
    return add_working_days(since, n) if n is not None else None


def notice_until(start: date) -> date:
    return start + timedelta(days=NOTICE_DAYS - 1)


def first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# --- the deadline still running -------------------------------------------------------------


def running(app: Application) -> tuple[Step, date] | None:
    """The step the application waits for and the day its working days count from, as
    the step services set them (tekun.py, care.py); None where no deadline runs."""
    done = {s.step: s.on for s in app.steps}
    if app.status == Status.RECEIVED:
        return Step.CHECK, app.received_on
    if app.kind == Kind.TEKUN:
        if app.status == Status.CHECKED and Step.CHECK in done:
            return Step.NOTICE, done[Step.CHECK]
        if app.status == Status.NOTICED and app.notice_until is not None:
            return Step.DECIDE, app.notice_until
        return None
    if app.status == Status.CHECKED:
        if Step.PLAN in done:
            return Step.DECIDE, done[Step.PLAN]
        if Step.CHECK in done:
            return Step.PLAN, done[Step.CHECK]
    if app.status == Status.APPROVED and app.enrolment_id is None and Step.ENROL not in done:
        since = done.get(Step.PLACE) or done.get(Step.DECIDE)
        if since is not None:
            return Step.ENROL, since
    return None


def recount_running(changed_from: date) -> int:
    """Count again the deadlines still running whose count starts before `changed_from`
    and ends on or after it (a change of the calendar on that day can move them); each
    by a conditional update at the version read, audited. Returns how many moved."""
    apps = db.session.scalars(
        sa.select(Application).where(
            Application.due.is_not(None),
            Application.due >= changed_from,
            Application.status.in_((*OPEN, Status.APPROVED)),
        )
    ).all()
    moved = 0
    for app in apps:
        found = running(app)
        if found is None:
            continue
        step, since = found
        due = due_after(app.kind, step, since)
        if due == app.due or since >= changed_from:
            continue
        done = db.session.execute(
            sa.update(Application)
            .where(Application.id == app.id, Application.version == app.version)
            .values(due=due)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) == 1:
            audit.record(
                "application_due_recounted",
                "applications",
                app.id,
                {
                    "due": [
                        app.due.isoformat() if app.due else None,
                        due.isoformat() if due else None,
                    ],
                    "calendar_changed": changed_from.isoformat(),
                },
            )
            db.session.expire(app)
            moved += 1
    return moved


def on_calendar_changed(changed_from: date, **_kw) -> None:
    """calendar_changed's receiver (eldercare/signals.py): in the same transaction."""
    recount_running(changed_from)
