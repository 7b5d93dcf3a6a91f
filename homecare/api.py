"""Home care API (API.md "Home care"): providers, workers, enrolments and ledgers, the
dashboard's figures. On the same blueprint, by topic: api_reference.py (the price list,
the subsidy, contracts), api_cards.py (QR cards, the elder's home point), api_scans.py
(scans and visits), api_lifecycle.py. Thin: parse, call a service, commit once, answer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from eldercare import scoping as core_scoping
from eldercare.apikit import ALL_ROLES, Body, PageQuery, Query, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Person, Role
from eldercare.people.services import number_condition
from eldercare.timeutil import local_today

from . import dashboard, figures, lifecycle, reference, services
from . import scoping as hc
from .models import Enrolment, EnrolmentStatus
from .serializers import (
    enrolment_json,
    ledger_json,
    provider_json,
)

bp = Blueprint("homecare_api", __name__, url_prefix="/api/v1/homecare")

ADMIN = (Role.ADMIN,)
READERS = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER, Role.WORKER)
OFFICE = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER)
CARD_ROLES = (Role.ADMIN, Role.PROVIDER)


#: Money leaves as a string with two decimals (API.md); the schema says so.
MoneyOut = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["300.00"]}),
]


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class ListOut(BaseModel):
    items: list[Loose]
    total: int
    page: int
    per_page: int


# --- providers and their workers ------------------------------------------------------------


class ProviderIn(Body):
    name: str = Field(min_length=1, max_length=100)
    townships: list[str] = Field(default_factory=list, max_length=40)
    contract_from: date | None = None
    contract_to: date | None = None
    phone: str = Field("", max_length=32)


@endpoint(
    bp,
    "/providers",
    roles=ALL_ROLES,
    query=PageQuery,
    response=ListOut,
    summary="Providers (provider staff see their own), in the list shape",
)
def providers(query: PageQuery):
    counts = figures.manual_counts(local_today().year)
    return paginate(
        hc.providers(api_user()),
        query,
        lambda p: (
            provider_json(p)
            | {
                "visits_this_year": counts.get(p.id, (0, 0))[0],
                "manual_visits_this_year": counts.get(p.id, (0, 0))[1],
            }
        ),
    )


@endpoint(
    bp,
    "/providers",
    ["POST"],
    roles=ADMIN,
    body=ProviderIn,
    response=Loose,
    status=201,
    summary="Add a provider with the townships its contract covers",
)
def create_provider(body: ProviderIn):
    p = services.create_provider(
        body.name, body.townships, body.contract_from, body.contract_to, body.phone
    )
    out = provider_json(p)
    db.session.commit()
    return out


class WorkerIn(Body):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field("", max_length=64)


def _worker_json(u) -> dict:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "active": u.active,
        "provider_id": u.provider_id,
    }


@endpoint(
    bp,
    "/providers/<int:provider_id>/workers",
    roles=OFFICE,
    query=PageQuery,
    response=ListOut,
    summary="A provider's workers, in the list shape",
)
def list_workers(provider_id: int, query: PageQuery):
    provider = hc.get_provider(api_user(), provider_id)
    return paginate(services.workers_select(provider.id), query, _worker_json)


class NewWorkerOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    username: str
    one_time_password: str


@endpoint(
    bp,
    "/providers/<int:provider_id>/workers",
    ["POST"],
    roles=(Role.ADMIN, Role.PROVIDER),
    body=WorkerIn,
    response=NewWorkerOut,
    status=201,
    summary="Add a worker account with a one-time password, shown only here "
    "(the worker changes it at the first login)",
)
def create_worker(provider_id: int, body: WorkerIn):
    actor = api_user()
    provider = hc.get_provider(actor, provider_id)
    new = services.create_worker(actor, provider, body.username, body.display_name)
    out = _worker_json(new.user) | {"one_time_password": new.one_time_password}
    db.session.commit()
    return out


class YearQuery(Query):
    year: int | None = Field(None, ge=2000, le=2100)


# --- enrolments and ledgers -----------------------------------------------------------------


class EnrolmentIn(Body):
    person_id: int
    provider_id: int
    year: int = Field(ge=2000, le=2100)
    enrolled_on: date | None = Field(
        None,
        description="the day it counts from: within `year`, not in the future "
        "(default today, or 1 January for a past year)",
    )
    outside_reason: str | None = Field(None, max_length=200)


@endpoint(
    bp,
    "/enrolments",
    ["POST"],
    roles=ADMIN,
    body=EnrolmentIn,
    response=Loose,
    status=201,
    summary="Enrol an elder for a year; allocates the year's subsidy",
)
def create_enrolment(body: EnrolmentIn):
    user = api_user()
    person = core_scoping.get_person(user, body.person_id)
    provider = services.get_provider(body.provider_id)
    e = reference.enrol(
        person,
        provider,
        body.year,
        body.outside_reason,
        on=lifecycle.enrolled_on(body.year, body.enrolled_on),
    )
    out = enrolment_json(e, (e.balance, Decimal("0.00")))
    db.session.commit()
    return out


class EnrolmentQuery(PageQuery):
    provider_id: int | None = None
    year: int | None = Field(None, ge=2000, le=2100)
    township_code: str | None = Field(None, max_length=12)
    status: Literal["active", "ended"] | None = None
    q: str | None = Field(None, max_length=64)


def filtered_enrolments(user, q) -> sa.Select:
    stmt = hc.enrolments(user).join(Person, Person.id == Enrolment.person_id)
    if q.provider_id:
        stmt = stmt.where(Enrolment.provider_id == q.provider_id)
    if q.year:
        stmt = stmt.where(Enrolment.year == q.year)
    if q.township_code:
        stmt = stmt.where(Person.township_code == q.township_code)
    if q.status:
        stmt = stmt.where(Enrolment.status == EnrolmentStatus(q.status))
    if q.q:
        # the number is encrypted: its blind indexes; a masked viewer matches no more
        # than the four characters it sees (issue 13.1)
        by_number = number_condition(q.q, whole=core_scoping.sees_full_id(user))
        stmt = stmt.where(
            Person.name.contains(q.q)
            if by_number is None
            else sa.or_(Person.name.contains(q.q), by_number)
        )
    return stmt.order_by(Enrolment.id)


@endpoint(
    bp,
    "/enrolments",
    roles=OFFICE,
    query=EnrolmentQuery,
    response=ListOut,
    summary="Enrolments with their status and ledger totals",
)
def list_enrolments(query: EnrolmentQuery):
    page = paginate(filtered_enrolments(api_user(), query), query, lambda e: e)
    totals = services.ledger_summaries([e.id for e in page["items"]])
    page["items"] = [enrolment_json(e, totals.get(e.id)) for e in page["items"]]
    return page


@endpoint(
    bp, "/enrolments/<int:enrolment_id>", roles=OFFICE, response=Loose, summary="One enrolment"
)
def show_enrolment(enrolment_id: int):
    e = hc.get_enrolment(api_user(), enrolment_id)
    return enrolment_json(e, services.ledger_summaries([e.id]).get(e.id))


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/ledger",
    roles=OFFICE,
    response=Loose,
    summary="The elder's ledger: allocated, spent, balance and every entry",
)
def show_ledger(enrolment_id: int):
    e = hc.get_enrolment(api_user(), enrolment_id)
    return ledger_json(e, services.ledger(e))


# --- the dashboard ------------------------------------------------------------------------


class ProviderFigures(BaseModel):
    provider_id: int
    provider: str
    allocated: MoneyOut
    used: MoneyOut


class TownshipFigures(BaseModel):
    township_code: str | None
    township: str | None
    used: MoneyOut


class MonthFigures(BaseModel):
    month: str
    visits: int
    flagged: int


class CallbackFigures(BaseModel):
    confirmed: int
    not_delivered: int
    unreachable: int
    complaint: int
    pending: int


class FiguresOut(BaseModel):
    year: int
    providers: list[ProviderFigures]
    townships: list[TownshipFigures]
    months: list[MonthFigures]
    callbacks: CallbackFigures


@endpoint(
    bp,
    "/figures",
    roles=OFFICE,
    query=YearQuery,
    response=FiguresOut,
    summary="The dashboard's year: subsidy per provider and township, visits and "
    "flagged visits per month, call-back results (provider staff: their own)",
)
def dashboard_figures(query: YearQuery):
    year = query.year or local_today().year
    return dashboard.as_json(dashboard.dashboard_figures(api_user(), year))
