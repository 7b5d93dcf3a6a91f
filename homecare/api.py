"""Home care API (API.md "Home care"): providers, workers, the price list, enrolments and
ledgers, QR cards, the elder's home point, the dashboard's figures; scans and visits are
in api_scans.py, on the same blueprint. Thin: parse, call a service, commit once, answer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from eldercare import scoping as core_scoping
from eldercare.apikit import ALL_ROLES, Body, PageQuery, Query, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Person, Role
from eldercare.people.services import number_condition
from eldercare.timeutil import local_today

from . import cards, dashboard, figures, homepoint, lifecycle, reference, services
from . import scoping as hc
from .models import Enrolment, EnrolmentStatus
from .serializers import (
    enrolment_json,
    ledger_json,
    provider_json,
    service_json,
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


# --- providers and the price list ---------------------------------------------------------


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


@endpoint(
    bp,
    "/services",
    roles=ALL_ROLES,
    query=YearQuery,
    response=list[Loose],
    summary="The price list of the current year (or ?year=)",
)
def list_services(query: YearQuery):
    return [service_json(s) for s in services.catalogue(query.year or local_today().year)]


class ServiceIn(Body):
    # the bureau's catalogue writes `JJ-01`; matched ignoring case (reference.py)
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=64)
    unit: Literal["hour", "session", "meal"]
    price: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    year: int | None = Field(None, ge=2000, le=2100)


@endpoint(
    bp,
    "/services",
    ["POST"],
    roles=ADMIN,
    body=ServiceIn,
    response=Loose,
    status=201,
    summary="Add an item to a year's price list",
)
def create_service(body: ServiceIn):
    s = services.add_service(
        body.year or local_today().year, body.code, body.name, body.unit, body.price
    )
    out = service_json(s)
    db.session.commit()
    return out


class SubsidyIn(Body):
    amount: Decimal = Field(gt=0, max_digits=8, decimal_places=2)


@endpoint(
    bp,
    "/subsidy/<int:year>",
    ["PUT"],
    roles=ADMIN,
    body=SubsidyIn,
    response=Loose,
    summary="Set a year's subsidy per elder (for enrolments made from now on)",
)
def set_subsidy(year: int, body: SubsidyIn):
    row = services.set_subsidy(year, body.amount)
    out = {"year": row.year, "amount": row.amount}
    db.session.commit()
    return out


# --- enrolments, ledgers and cards ------------------------------------------------------


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


def _card_enrolment(enrolment_id: int) -> Enrolment:
    return hc.get_enrolment(api_user(), enrolment_id)


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/card.png",
    roles=CARD_ROLES,
    raw=True,
    summary="The QR card as PNG",
)
def card_png(enrolment_id: int):
    e = _card_enrolment(enrolment_id)
    return Response(cards.png(cards.url(e)), mimetype="image/png")


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/card.svg",
    roles=CARD_ROLES,
    raw=True,
    summary="The QR card as SVG",
)
def card_svg(enrolment_id: int):
    e = _card_enrolment(enrolment_id)
    return Response(cards.svg(cards.url(e)), mimetype="image/svg+xml")


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/card/reissue",
    ["POST"],
    roles=CARD_ROLES,
    response=Loose,
    status=201,
    summary="A new card; the old one stops working",
)
def card_reissue(enrolment_id: int):
    e = cards.reissue(_card_enrolment(enrolment_id))
    out = {
        "enrolment_id": e.id,
        "card_serial": e.card_serial,
        "url": cards.url(e),
        "card_number": cards.short_number(e),
    }
    db.session.commit()
    return out


# --- the elder's home point (homepoint.py) -----------------------------------------------


class HomePointIn(Body):
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)


class HomePointOut(BaseModel):
    person_id: int
    home_lat: float | None
    home_lng: float | None
    proposal: Loose | None = Field(
        description="median of the first five located check-ins: lat, lng, visit_ids, "
        "spread_m; null once a home point is set or while there are fewer"
    )


@endpoint(
    bp,
    "/people/<int:person_id>/home-point",
    roles=homepoint.READERS,
    response=HomePointOut,
    summary="An elder's home point and, while there is none, "
    "the proposal from the first located check-ins",
)
def show_home_point(person_id: int):
    return homepoint.state(core_scoping.get_person(api_user(), person_id))


@endpoint(
    bp,
    "/people/<int:person_id>/home-point",
    ["POST"],
    roles=homepoint.DECIDERS,
    body=HomePointIn,
    response=HomePointOut,
    summary="Set the home point: an empty body accepts the proposal (409 no_proposal "
    "when there is none), lat and lng correct it; audited",
)
def decide_home_point(person_id: int, body: HomePointIn):
    person = core_scoping.get_person(api_user(), person_id)
    homepoint.decide(api_user(), person, body.lat, body.lng)
    out = homepoint.state(person)
    db.session.commit()
    return out


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
