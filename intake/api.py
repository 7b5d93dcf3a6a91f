"""Intake API (API.md "Intake"): applications and their steps, the home-care waiting
list and eligibility rules. Thin: parse, call a service, commit once, answer.

A township clerk receives, checks, notices, plans and withdraws within their township
(others' applications are 404); the bureau decides and enrols; the auditor reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from eldercare.apikit import Body, PageQuery, Query, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.people.services import PersonInput
from eldercare.timeutil import local_today

from . import figures, rules, scoping, services
from .care import PlanLine
from .serializers import application_json

bp = Blueprint("intake_api", __name__, url_prefix="/api/v1")
ADMIN = (Role.ADMIN,)
STATUSES = Literal["received", "checked", "noticed", "approved", "refused", "waiting", "withdrawn"]
DATE = Field(None, ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class StepOut(Loose):
    step: str
    on: dt.date
    late: bool


class ApplicationOut(Loose):
    id: int
    kind: Literal["tekun", "homecare"]
    status: STATUSES
    steps: list[StepOut]
    due: dt.date | None


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    total: int
    page: int
    per_page: int


class PersonNew(Body):
    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=40)
    phone: str = Field("", max_length=32)
    township_code: str | None = Field(None, max_length=12)
    village_code: str | None = Field(None, max_length=12)
    address: str = Field("", max_length=200)


class ApplicationIn(Body):
    kind: Literal["tekun", "homecare"]
    person_id: int | None = Field(None, ge=1, le=2**31 - 1)
    person: PersonNew | None = None
    received_on: dt.date | None = DATE
    note: str = Field("", max_length=500)
    year: int | None = Field(None, ge=2000, le=2100)
    support: Literal["dispersed", "centralized"] | None = None
    by_proxy: bool = False
    proxy_name: str = Field("", max_length=64)


@endpoint(
    bp,
    "/applications",
    ["POST"],
    roles=scoping.DESK,
    body=ApplicationIn,
    response=ApplicationOut,
    status=201,
    summary="Receive an application (特困 or home care) at the applicant's township",
)
def create(body: ApplicationIn):
    person = PersonInput(**body.person.model_dump()) if body.person is not None else None
    app = services.receive(
        api_user(),
        services.NewApplication(
            kind=body.kind,
            received_on=body.received_on,
            person_id=body.person_id,
            person=person,
            note=body.note,
            year=body.year,
            by_proxy=body.by_proxy,
            proxy_name=body.proxy_name,
            support_wanted=body.support,
        ),
    )
    db.session.commit()
    return application_json(app)


class ApplicationsQuery(PageQuery):
    kind: Literal["tekun", "homecare"] | None = None
    status: STATUSES | None = None
    township_code: str | None = Field(None, max_length=12)
    year: int | None = Field(None, ge=2000, le=2100)
    overdue: bool | None = None


@endpoint(
    bp,
    "/applications",
    roles=scoping.READERS,
    query=ApplicationsQuery,
    response=ApplicationPage,
    summary="Applications (a township clerk: their township's)",
)
def index(query: ApplicationsQuery):
    stmt = scoping.listing(
        api_user(), query.kind, query.status, query.township_code, query.year, query.overdue
    )
    return paginate(stmt, query, application_json)


@endpoint(
    bp,
    "/applications/<int:application_id>",
    roles=scoping.READERS,
    response=ApplicationOut,
    summary="An application with its steps: who, when, late",
)
def show(application_id: int):
    return application_json(scoping.get_application(api_user(), application_id))


class Assessment(Body):
    eating: bool
    dressing: bool
    transfer: bool
    toileting: bool
    walking: bool
    bathing: bool
    note: str = Field("", max_length=500)


class CheckIn(Body):
    assessment: Assessment
    on: dt.date | None = DATE
    note: str = Field("", max_length=500)
    lives_alone: bool | None = None
    services: list[str] = Field([], max_length=20)


def _step(application_id: int, run) -> dict:
    user = api_user()
    app = scoping.get_application(user, application_id)
    run(app, user)
    db.session.commit()
    return application_json(scoping.get_application(user, application_id))


@endpoint(
    bp,
    "/applications/<int:application_id>/check",
    ["POST"],
    roles=scoping.DESK,
    body=CheckIn,
    response=ApplicationOut,
    summary="The township's check: home visit and the six-item assessment",
)
def check(application_id: int, body: CheckIn):
    a = body.assessment.model_dump()
    note = "；".join(x for x in (body.note, a.pop("note")) if x)
    return _step(
        application_id,
        lambda app, user: services.check(
            app,
            user,
            services.CheckInput(
                assessment=a,
                on=body.on,
                note=note,
                lives_alone=body.lives_alone,
                services=body.services,
            ),
        ),
    )


class NoticeIn(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: dt.date | None = Field(
        None, alias="from", ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31)
    )


@endpoint(
    bp,
    "/applications/<int:application_id>/notice",
    ["POST"],
    roles=scoping.DESK,
    body=NoticeIn,
    response=ApplicationOut,
    summary="The 7-day notice in the applicant's village (特困)",
)
def notice(application_id: int, body: NoticeIn):
    return _step(application_id, lambda app, user: services.notice(app, user, body.start))


class DecideIn(Body):
    approved: bool
    reasons: str = Field("", max_length=500)
    category: Literal["elderly", "disabled", "minor"] | None = None
    support: Literal["dispersed", "centralized"] | None = None
    on: dt.date | None = DATE


@endpoint(
    bp,
    "/applications/<int:application_id>/decide",
    ["POST"],
    roles=ADMIN,
    body=DecideIn,
    response=ApplicationOut,
    summary="The bureau's decision (a refusal with written reasons)",
)
def decide(application_id: int, body: DecideIn):
    return _step(
        application_id,
        lambda app, user: services.decide(
            app,
            user,
            services.Decision(
                approved=body.approved,
                reasons=body.reasons,
                category=body.category,
                support=body.support,
                on=body.on,
            ),
        ),
    )


class WithdrawIn(Body):
    reason: str = Field(min_length=1, max_length=200)
    on: dt.date | None = DATE


@endpoint(
    bp,
    "/applications/<int:application_id>/withdraw",
    ["POST"],
    roles=scoping.DESK,
    body=WithdrawIn,
    response=ApplicationOut,
    summary="The applicant withdraws",
)
def withdraw(application_id: int, body: WithdrawIn):
    return _step(
        application_id, lambda app, user: services.withdraw(app, user, body.reason, body.on)
    )


class PlanLineIn(Body):
    code: str = Field(min_length=1, max_length=20)
    per_month: Decimal = Field(gt=0, le=200, decimal_places=2)


class PlanIn(Body):
    lines: list[PlanLineIn] = Field(min_length=1, max_length=20)
    on: dt.date | None = DATE


@endpoint(
    bp,
    "/applications/<int:application_id>/plan",
    ["POST"],
    roles=scoping.DESK,
    body=PlanIn,
    response=ApplicationOut,
    summary="Home care: the service plan, priced against the year's subsidy",
)
def plan(application_id: int, body: PlanIn):
    lines = [PlanLine(x.code, x.per_month) for x in body.lines]
    return _step(application_id, lambda app, user: services.plan(app, user, lines, body.on))


class EnrolIn(Body):
    provider_id: int = Field(ge=1, le=2**31 - 1)
    agreed_on: dt.date | None = DATE


@endpoint(
    bp,
    "/applications/<int:application_id>/enrol",
    ["POST"],
    roles=ADMIN,
    body=EnrolIn,
    response=ApplicationOut,
    summary="Home care: the agreement with a provider serving the township, enrolled",
)
def enrol(application_id: int, body: EnrolIn):
    return _step(
        application_id,
        lambda app, user: services.enrol(app, user, body.provider_id, body.agreed_on),
    )


# --- home care: waiting list and the year's rules ---------------------------------------


class YearQuery(PageQuery):
    year: int | None = Field(None, ge=2000, le=2100)


class WaitingOut(Loose):
    rank: int
    score: int
    reasons: list[str]


class WaitingPage(BaseModel):
    items: list[WaitingOut]
    total: int
    page: int
    per_page: int
    year: int
    places: int
    taken: int


@endpoint(
    bp,
    "/homecare/waiting-list",
    roles=scoping.READERS,
    query=YearQuery,
    response=WaitingPage,
    summary="Home care's waiting list, ranked by assessed need, each with its reasons",
)
def waiting_list(query: YearQuery):
    year = query.year or local_today().year
    return figures.waiting_page(api_user(), year, query.page, query.per_page)


class RuleIn(Body):
    code: str = Field(min_length=1, max_length=20)
    label: str = Field(min_length=1, max_length=64)
    min_age: int | None = Field(None, ge=0, le=120)
    categories: list[str] = []
    care_levels: list[str] = []


class RulesIn(Body):
    rules: list[RuleIn] = Field(max_length=50)
    places: int | None = Field(None, ge=0, le=1_000_000)


class RulesQuery(Query):
    year: int | None = Field(None, ge=2000, le=2100)


def _rules_json(year: int) -> dict:
    rows, inherited = rules.rules_for(year)
    return {
        "year": year,
        "places": rules.places_row(year).places,
        "taken": rules.places_taken(year),
        "inherited_from": inherited,
        "rules": [
            {
                "code": r.code,
                "label": r.label,
                "min_age": r.min_age,
                "categories": r.categories or [],
                "care_levels": r.care_levels or [],
            }
            for r in rows
        ],
    }


@endpoint(
    bp,
    "/homecare/eligibility-rules",
    roles=scoping.READERS,
    query=RulesQuery,
    response=Loose,
    summary="The year's home-care eligibility rules and places",
)
def get_rules(query: RulesQuery):
    out = _rules_json(query.year or local_today().year)
    db.session.commit()  # the year's places row, made on first sight
    return out


@endpoint(
    bp,
    "/homecare/eligibility-rules",
    ["PUT"],
    roles=ADMIN,
    query=RulesQuery,
    body=RulesIn,
    response=Loose,
    summary="Set the year's eligibility rules and places",
)
def put_rules(query: RulesQuery, body: RulesIn):
    year = query.year or local_today().year
    rules.set_rules(year, [r.model_dump() for r in body.rules], body.places)
    out = _rules_json(year)
    db.session.commit()
    return out


class FiguresQuery(Query):
    year: int | None = Field(None, ge=2000, le=2100)


@endpoint(
    bp,
    "/intake/figures",
    roles=scoping.BUREAU,
    query=FiguresQuery,
    response=Loose,
    summary="Intake figures: by step and township, time against deadlines, decisions",
)
def intake_figures(query: FiguresQuery):
    return figures.figures(query.year or local_today().year)
