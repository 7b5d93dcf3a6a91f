"""Every step of an application, whatever its kind: the pages and the API call these
(the rules are in steps.py, tekun.py and care.py). Functions flush, never commit."""

from __future__ import annotations

from datetime import date

from eldercare.models import User

from . import care, tekun
from .models import Application, Kind
from .steps import NewApplication, receive, withdraw  # noqa: F401 - the services' surface
from .tekun import CheckInput, Decision


def check(app: Application, user: User, data: CheckInput) -> Application:
    """The township's check: 特困 (tekun.check) or home care with eligibility and need
    (care.check)."""
    return (care.check if app.kind == Kind.HOMECARE else tekun.check)(app, user, data)


def notice(app: Application, user: User, start: date | None) -> Application:
    return tekun.notice(app, user, start)


def decide(app: Application, user: User, d: Decision) -> Application:
    """The bureau's decision: 特困 (tekun.decide) or home care (care.decide)."""
    return (care.decide if app.kind == Kind.HOMECARE else tekun.decide)(app, user, d)


def plan(
    app: Application, user: User, lines: list[care.PlanLine], on: date | None = None
) -> Application:
    return care.plan(app, user, lines, on)


def enrol(app: Application, user: User, provider_id: int, on: date | None = None) -> Application:
    return care.enrol(app, user, provider_id, on)
