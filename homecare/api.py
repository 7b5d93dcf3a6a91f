"""Home care API (API.md "Home care"): providers, price list, enrolments and ledgers,
QR cards, scans and visits. Thin: parse, call a service, commit once, answer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import Blueprint, Response
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from sqlalchemy.exc import IntegrityError

from eldercare import scoping as core_scoping
from eldercare.api import ALL_ROLES, ApiError, Body, PageQuery, Query, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.database import retrying, utcnow
from eldercare.errors import Forbidden, NotFound
from eldercare.extensions import db
from eldercare.models import Person, Role
from eldercare.people.services import number_condition
from eldercare.timeutil import LOCAL, local_today

from . import cards, dashboard, figures, homepoint, services, visits
from . import scoping as hc
from .models import Enrolment, EnrolmentStatus, Visit
from .serializers import (
    enrolment_json,
    ledger_json,
    provider_json,
    service_json,
    visit_json,
)

bp = Blueprint("homecare_api", __name__, url_prefix="/api/v1/homecare")

ADMIN = (Role.ADMIN,)
READERS = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER, Role.WORKER)
OFFICE = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER)
CARD_ROLES = (Role.ADMIN, Role.PROVIDER)
#: Separation of duties (issue 14): a provider account manages, a worker account scans.
SCANNERS = (Role.WORKER,)


#: Money leaves as a string with two decimals (API.md); the schema says so.
MoneyOut = Annotated[Decimal, WithJsonSchema(
    {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["300.00"]})]


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


@endpoint(bp, "/providers", roles=ALL_ROLES, response=list[Loose],
          summary="Providers (provider staff see their own)")
def providers():
    counts = figures.manual_counts(local_today().year)
    return [provider_json(p) | {"visits_this_year": counts.get(p.id, (0, 0))[0],
                                "manual_visits_this_year": counts.get(p.id, (0, 0))[1]}
            for p in db.session.scalars(hc.providers(api_user()))]


@endpoint(bp, "/providers", ["POST"], roles=ADMIN, body=ProviderIn, response=Loose,
          status=201, summary="Add a provider with the townships its contract covers")
def create_provider(body: ProviderIn):
    p = services.create_provider(body.name, body.townships, body.contract_from,
                                 body.contract_to, body.phone)
    out = provider_json(p)
    db.session.commit()
    return out


class WorkerIn(Body):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field("", max_length=64)


def _worker_json(u) -> dict:
    return {"id": u.id, "username": u.username, "display_name": u.display_name,
            "active": u.active, "provider_id": u.provider_id}


@endpoint(bp, "/providers/<int:provider_id>/workers", roles=OFFICE, response=list[Loose],
          summary="A provider's workers")
def list_workers(provider_id: int):
    provider = hc.get_provider(api_user(), provider_id)
    return [_worker_json(u) for u in services.workers(provider.id)]


class NewWorkerOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    username: str
    one_time_password: str


@endpoint(bp, "/providers/<int:provider_id>/workers", ["POST"], roles=(Role.ADMIN, Role.PROVIDER),
          body=WorkerIn, response=NewWorkerOut, status=201,
          summary="Add a worker account with a one-time password, shown only here "
                  "(the worker changes it at the first login)")
def create_worker(provider_id: int, body: WorkerIn):
    actor = api_user()
    provider = hc.get_provider(actor, provider_id)
    new = services.create_worker(actor, provider, body.username, body.display_name)
    out = _worker_json(new.user) | {"one_time_password": new.one_time_password}
    db.session.commit()
    return out


class YearQuery(Query):
    year: int | None = Field(None, ge=2000, le=2100)


@endpoint(bp, "/services", roles=ALL_ROLES, query=YearQuery, response=list[Loose],
          summary="The price list of the current year (or ?year=)")
def list_services(query: YearQuery):
    return [service_json(s) for s in services.catalogue(query.year or local_today().year)]


class ServiceIn(Body):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=64)
    unit: Literal["hour", "session", "meal"]
    price: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    year: int | None = Field(None, ge=2000, le=2100)


@endpoint(bp, "/services", ["POST"], roles=ADMIN, body=ServiceIn, response=Loose, status=201,
          summary="Add an item to a year's price list")
def create_service(body: ServiceIn):
    s = services.add_service(body.year or local_today().year, body.code, body.name,
                             body.unit, body.price)
    out = service_json(s)
    db.session.commit()
    return out


class SubsidyIn(Body):
    amount: Decimal = Field(gt=0, max_digits=8, decimal_places=2)


@endpoint(bp, "/subsidy/<int:year>", ["PUT"], roles=ADMIN, body=SubsidyIn, response=Loose,
          summary="Set a year's subsidy per elder (for enrolments made from now on)")
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


@endpoint(bp, "/enrolments", ["POST"], roles=ADMIN, body=EnrolmentIn, response=Loose,
          status=201, summary="Enrol an elder for a year; allocates the year's subsidy")
def create_enrolment(body: EnrolmentIn):
    user = api_user()
    person = core_scoping.get_person(user, body.person_id)
    provider = services.get_provider(body.provider_id)
    e = services.enrol(person, provider, body.year)
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
        stmt = stmt.where(Person.name.contains(q.q) if by_number is None
                          else sa.or_(Person.name.contains(q.q), by_number))
    return stmt.order_by(Enrolment.id)


@endpoint(bp, "/enrolments", roles=OFFICE, query=EnrolmentQuery, response=ListOut,
          summary="Enrolments with their status and ledger totals")
def list_enrolments(query: EnrolmentQuery):
    page = paginate(filtered_enrolments(api_user(), query), query, lambda e: e)
    totals = services.ledger_summaries([e.id for e in page["items"]])
    page["items"] = [enrolment_json(e, totals.get(e.id)) for e in page["items"]]
    return page


@endpoint(bp, "/enrolments/<int:enrolment_id>", roles=OFFICE, response=Loose,
          summary="One enrolment")
def show_enrolment(enrolment_id: int):
    e = hc.get_enrolment(api_user(), enrolment_id)
    return enrolment_json(e, services.ledger_summaries([e.id]).get(e.id))


@endpoint(bp, "/enrolments/<int:enrolment_id>/ledger", roles=OFFICE, response=Loose,
          summary="The elder's ledger: allocated, spent, balance and every entry")
def show_ledger(enrolment_id: int):
    e = hc.get_enrolment(api_user(), enrolment_id)
    return ledger_json(e, services.ledger(e))


def _card_enrolment(enrolment_id: int) -> Enrolment:
    return hc.get_enrolment(api_user(), enrolment_id)


@endpoint(bp, "/enrolments/<int:enrolment_id>/card.png", roles=CARD_ROLES, raw=True,
          summary="The QR card as PNG")
def card_png(enrolment_id: int):
    e = _card_enrolment(enrolment_id)
    return Response(cards.png(cards.url(e)), mimetype="image/png")


@endpoint(bp, "/enrolments/<int:enrolment_id>/card.svg", roles=CARD_ROLES, raw=True,
          summary="The QR card as SVG")
def card_svg(enrolment_id: int):
    e = _card_enrolment(enrolment_id)
    return Response(cards.svg(cards.url(e)), mimetype="image/svg+xml")


@endpoint(bp, "/enrolments/<int:enrolment_id>/card/reissue", ["POST"], roles=CARD_ROLES,
          response=Loose, status=201, summary="A new card; the old one stops working")
def card_reissue(enrolment_id: int):
    e = cards.reissue(_card_enrolment(enrolment_id))
    out = {"enrolment_id": e.id, "card_serial": e.card_serial, "url": cards.url(e),
           "card_number": cards.short_number(e)}
    db.session.commit()
    return out


# --- scans and visits -------------------------------------------------------------------


class ServiceLine(Body):
    code: str = Field(min_length=1, max_length=20)
    # allow_inf_nan=False: "NaN" and "Infinity" are a field error, never compared (a 500)
    quantity: Decimal = Field(gt=0, le=24, decimal_places=2, allow_inf_nan=False)


class ScanIn(Body):
    qr: str = Field(min_length=1, max_length=2000)
    kind: Literal["check_in", "check_out"]
    at: datetime
    client_id: str = Field(min_length=1, max_length=64)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    services: list[ServiceLine] | None = Field(None, max_length=20)
    no_location_reason: Literal["denied", "no_signal", "no_gps", "other"] | None = Field(
        None, description="why lat/lng are missing: location refused, no signal, no GPS, other")

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("时间须带时区，例如 2026-06-03T09:30:00+08:00")
        return v.astimezone(UTC)

    @field_validator("client_id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError("client_id 须为 UUID") from None


class VisitOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    enrolment_id: int
    status: Literal["open", "completed", "flagged"]
    check_in_at: datetime
    check_out_at: datetime | None
    amount: MoneyOut
    subsidised: MoneyOut
    self_paid: MoneyOut
    exceptions: list[str]


def _idempotent(user, client_id: str, body_hash: str, work):
    """Run `work()` (which flushes a Scan row) and commit; a repeat of the same
    client_id answers 200 with the first visit, also when it raced the first."""
    if (earlier := visits.replay(user, client_id, body_hash)) is not None:
        return visit_json(earlier), 200

    def attempt():
        try:
            visit = work()
            out = visit_json(visit)
            db.session.commit()
            return out, 201
        except IntegrityError:
            db.session.rollback()
            twin = visits.replay(user, client_id, body_hash)
            if twin is None:
                raise
            return visit_json(twin), 200

    return retrying(attempt)


def _looked_up(user, qr: str) -> None:
    """A typed card number counts against the account's lookups (cards.lookup); the
    count and the audit entry of a wrong one are committed although the scan fails."""
    try:
        cards.lookup(user, qr)
    except cards.LookupLocked as exc:
        db.session.commit()
        wait = max(1, int((exc.until - utcnow()).total_seconds()) + 1)
        raise ApiError(429, exc.code, exc.message, headers={"Retry-After": str(wait)}) from None
    except cards.InvalidCard:
        db.session.commit()
        raise


@endpoint(bp, "/scans", ["POST"], roles=SCANNERS, body=ScanIn, response=VisitOut, status=201,
          summary="A check-in or check-out scan of an elder's QR card (idempotent on "
                  "client_id; worker accounts only)")
def scan(body: ScanIn):
    user = api_user()
    _looked_up(user, body.qr)
    raw = body.model_dump(mode="json")
    if raw["no_location_reason"] is None:  # the hash of a scan without it stays as it was
        del raw["no_location_reason"]
    data = visits.ScanInput(
        qr=body.qr, kind=body.kind, at=body.at, client_id=body.client_id, lat=body.lat,
        lng=body.lng, raw=raw, no_location_reason=body.no_location_reason,
        services=None if body.services is None else [(s.code, s.quantity)
                                                     for s in body.services])
    return _idempotent(user, body.client_id, visits.request_hash(raw),
                       lambda: visits.scan(user, data))


class ManualIn(Body):
    enrolment_id: int
    check_in_at: datetime
    check_out_at: datetime
    services: list[ServiceLine] = Field(min_length=1, max_length=20)
    reason: Literal["card_lost", "card_damaged", "camera_failed", "no_phone", "other"]
    note: str = Field(min_length=1, max_length=500)
    client_id: str | None = Field(None, max_length=64)

    @field_validator("check_in_at", "check_out_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("时间须带时区")
        return v.astimezone(UTC)


@endpoint(bp, "/visits/manual", ["POST"], roles=SCANNERS, body=ManualIn, response=VisitOut,
          status=201, summary="Log a visit by hand (card lost or damaged): marked manual")
def manual(body: ManualIn):
    user = api_user()
    try:
        e = hc.get_enrolment(user, body.enrolment_id)
    except NotFound:
        # Another provider's elder is refused as with a card scan; no such id is 404.
        e = db.session.get(Enrolment, body.enrolment_id)
        if e is None:
            raise
        raise Forbidden(_l("该老人由其他服务组织服务"), code="other_provider") from None
    raw = body.model_dump(mode="json")
    lines = [(s.code, s.quantity) for s in body.services]

    def work():
        return visits.manual_visit(user, e, body.check_in_at, body.check_out_at, lines,
                                   body.reason, body.note, body.client_id, raw)

    if body.client_id:
        return _idempotent(user, body.client_id, visits.request_hash(raw), work)
    out = visit_json(work())
    db.session.commit()
    return out, 201


class VisitQuery(PageQuery):
    provider_id: int | None = None
    month: str | None = Field(None, pattern=r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$")
    status: Literal["open", "completed", "flagged"] | None = None
    enrolment_id: int | None = None
    worker_id: int | None = None
    exception: str | None = Field(None, max_length=30)


def month_range(month: str) -> tuple[datetime, datetime]:
    y, m = (int(p) for p in month.split("-"))
    start = datetime(y, m, 1, tzinfo=LOCAL)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=LOCAL)
    return start.astimezone(UTC), end.astimezone(UTC)


def filtered_visits(user, q) -> sa.Select:
    stmt = hc.visits(user)
    if q.provider_id:
        stmt = stmt.where(Visit.provider_id == q.provider_id)
    if q.month:
        start, end = month_range(q.month)
        stmt = stmt.where(Visit.check_in_at >= start, Visit.check_in_at < end)
    if q.status:
        stmt = stmt.where(Visit.status == q.status)
    if q.enrolment_id:
        stmt = stmt.where(Visit.enrolment_id == q.enrolment_id)
    if q.worker_id:  # within the scope above: a provider names only its own workers
        stmt = stmt.where(Visit.worker_id == q.worker_id)
    if q.exception:
        # JSON list of codes: the quoted code inside the text is exact enough to filter on.
        stmt = stmt.where(sa.cast(Visit.exceptions, sa.String).contains(f'"{q.exception}"'))
    return stmt.order_by(Visit.check_in_at.desc(), Visit.id.desc())


@endpoint(bp, "/visits", roles=READERS, query=VisitQuery, response=ListOut,
          summary="Visits (provider_id, worker_id, month=YYYY-MM, status, exception "
                  "filters)")
def list_visits(query: VisitQuery):
    return paginate(filtered_visits(api_user(), query), query, visit_json)


@endpoint(bp, "/visits/<int:visit_id>", roles=READERS, response=VisitOut, summary="One visit")
def show_visit(visit_id: int):
    return visit_json(hc.get_visit(api_user(), visit_id))


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
                    "spread_m; null once a home point is set or while there are fewer")


@endpoint(bp, "/people/<int:person_id>/home-point", roles=homepoint.READERS,
          response=HomePointOut, summary="An elder's home point and, while there is none, "
                                         "the proposal from the first located check-ins")
def show_home_point(person_id: int):
    return homepoint.state(core_scoping.get_person(api_user(), person_id))


@endpoint(bp, "/people/<int:person_id>/home-point", ["POST"], roles=homepoint.DECIDERS,
          body=HomePointIn, response=HomePointOut,
          summary="Set the home point: an empty body accepts the proposal (409 no_proposal "
                  "when there is none), lat and lng correct it; audited")
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


@endpoint(bp, "/figures", roles=OFFICE, query=YearQuery, response=FiguresOut,
          summary="The dashboard's year: subsidy per provider and township, visits and "
                  "flagged visits per month, call-back results (provider staff: their own)")
def dashboard_figures(query: YearQuery):
    year = query.year or local_today().year
    return dashboard.as_json(dashboard.dashboard_figures(api_user(), year))
