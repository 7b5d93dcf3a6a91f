"""What features plug into the core: menu items, overview figures, demo steps, person
scopes, jobs and page panels. The core reads these; it never imports a feature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, current_app

from .models import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy gettext string
    roles: tuple[Role, ...]
    order: int = 50


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    run: Callable[..., None]  # run(ctx: demo.DemoContext)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[..., dict]  # run(period: str) -> summary of what changed
    period_kind: str  # "year", "month", "day", "hour"
    schedule: dict  # APScheduler cron fields, Asia/Shanghai
    description: str = ""
    #: the period a run started at a local moment is for (default: the current period)
    default_period: Callable[[Any], str] | None = None


@dataclass
class Registry:
    nav: list[NavItem] = field(default_factory=list)
    overview: list[Callable[[date], dict]] = field(default_factory=list)
    public_figures: list[Callable[[date], dict]] = field(default_factory=list)
    demo_steps: list[DemoStep] = field(default_factory=list)
    person_scopes: list[Callable[[Any], Any]] = field(default_factory=list)
    person_panels: list[tuple[str, Callable[[Any], dict]]] = field(default_factory=list)
    dashboard_panels: list[tuple[str, Callable[[], dict]]] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)
    #: reference data that init-db loads after migrating (idempotent: run on every upgrade)
    seeds: list[Callable[[], None]] = field(default_factory=list)
    #: fn(day) -> [dict(kind, role, message, link?, facility_id?, provider_id?, count?)]
    alert_sources: list[Callable[[date], list[dict]]] = field(default_factory=list)
    #: fn(day) -> [dict(kind, name, township_code, village_code, effective_on, notice_from,
    #: notice_until, detail?)]: the 7-day 公示 notices running on `day`, shown without login at
    #: /public/notices. `name` is the full name: the core masks it (never pass an ID number).
    #: dynamic gives its terminations; the intake feature its applications under notice.
    public_notices: list[Callable[[date], list[dict]]] = field(default_factory=list)
    #: the first page of a role: {role value: view function} (the bureau's is the district
    #: overview). A feature that adds a role (intake's township clerk) adds its page here.
    home_pages: dict[str, Callable[[], Any]] = field(default_factory=dict)
    #: hooks that one feature offers and others fill, by name, so that neither imports the
    #: other (e.g. "dynamic.effects", "dynamic.losses": dynamic/__init__.py documents them)
    hooks: dict[str, list[Callable[..., Any]]] = field(default_factory=dict)
    #: figures kept as rows are written (issue 15): {name: recount(repair) -> {table: rows
    #: that differed from a count of the rows}}; `eldercare figures recount` runs them all
    tallies: dict[str, Callable[[bool], dict[str, int]]] = field(default_factory=dict)

    def add_job(self, job: Job) -> None:
        self.jobs[job.name] = job

    def hook(self, name: str) -> list[Callable[..., Any]]:
        """The functions registered under `name` (append to fill the hook)."""
        return self.hooks.setdefault(name, [])


def init_app(app: Flask) -> Registry:
    reg = Registry()
    app.extensions["eldercare"] = reg
    return reg


def registry() -> Registry:
    return current_app.extensions["eldercare"]
