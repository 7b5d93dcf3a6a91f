"""Home care API, scans and visits (API.md "Home care"): check-in and check-out scans of
an elder's QR card, visits logged by hand, the visit lists. On the blueprint of api.py;
thin: parse, call a service, commit once, answer. A repeat of a client_id counts once
(idempotency.once, the rule the worker's pages follow too)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from eldercare.api_errors import ApiError
from eldercare.apikit import Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.database import retrying, utcnow
from eldercare.errors import Forbidden, NotFound
from eldercare.extensions import db
from eldercare.timeutil import Month

from . import cards, idempotency, visits
from . import scoping as hc
from .api import READERS, ListOut, MoneyOut, bp
from .models import Enrolment, Visit
from .serializers import visit_json


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
        None, description="why lat/lng are missing: location refused, no signal, no GPS, other"
    )

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


def _once(user, client_id: str | None, raw: dict, work):
    """idempotency.once, committed: 201 with a new visit, 200 with the first one for a repeat
    (also when it raced the first); retried after a serialization failure."""

    def attempt():
        visit, created = idempotency.once(user, client_id, raw, work)
        out = visit_json(visit)
        db.session.commit()
        return out, 201 if created else 200

    return retrying(attempt)


def _looked_up(user, qr: str) -> Enrolment:
    """A typed card number counts against the account's lookups (cards.lookup); the
    count and the audit entry of a wrong one are committed although the scan fails."""
    try:
        return cards.lookup(user, qr)
    except cards.LookupLocked as exc:
        db.session.commit()
        wait = max(1, int((exc.until - utcnow()).total_seconds()) + 1)
        raise ApiError(429, exc.code, exc.message, headers={"Retry-After": str(wait)}) from None
    except cards.InvalidCard:
        db.session.commit()
        raise


@endpoint(
    bp,
    "/scans",
    ["POST"],
    roles=visits.SCANNERS,
    body=ScanIn,
    response=VisitOut,
    status=201,
    summary="A check-in or check-out scan of an elder's QR card (idempotent on "
    "client_id; worker accounts only)",
)
def scan(body: ScanIn):
    user = api_user()
    enrolment = _looked_up(user, body.qr)
    raw = body.model_dump(mode="json")
    if raw["no_location_reason"] is None:  # the hash of a scan without it stays as it was
        del raw["no_location_reason"]
    data = visits.ScanInput(
        qr=body.qr,
        kind=body.kind,
        at=body.at,
        client_id=body.client_id,
        lat=body.lat,
        lng=body.lng,
        raw=raw,
        no_location_reason=body.no_location_reason,
        enrolment=enrolment,
        services=None if body.services is None else [(s.code, s.quantity) for s in body.services],
    )
    return _once(user, body.client_id, raw, lambda: visits.scan(user, data))


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


@endpoint(
    bp,
    "/visits/manual",
    ["POST"],
    roles=visits.SCANNERS,
    body=ManualIn,
    response=VisitOut,
    status=201,
    summary="Log a visit by hand (card lost or damaged): marked manual",
)
def manual(body: ManualIn):
    user = api_user()
    try:
        e = hc.get_enrolment(user, body.enrolment_id)
    except NotFound:
        # Another provider's elder is refused as with a card scan; no such id is 404.
        other = db.session.get(Enrolment, body.enrolment_id)
        if other is None:
            raise
        raise Forbidden("该老人由其他服务组织服务", code="other_provider") from None
    raw = body.model_dump(mode="json")
    lines = [(s.code, s.quantity) for s in body.services]

    def work():
        return visits.manual_visit(
            user,
            e,
            body.check_in_at,
            body.check_out_at,
            lines,
            body.reason,
            body.note,
            body.client_id,
            raw,
        )

    return _once(user, body.client_id, raw, work)


class VisitQuery(PageQuery):
    provider_id: int | None = None
    month: str | None = Field(None, pattern=r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$")
    status: Literal["open", "completed", "flagged"] | None = None
    enrolment_id: int | None = None
    worker_id: int | None = None
    exception: str | None = Field(None, max_length=30)


def filtered_visits(user, q) -> sa.Select:
    stmt = hc.visits(user)
    if q.provider_id:
        stmt = stmt.where(Visit.provider_id == q.provider_id)
    if q.month:
        start, end = Month.parse(q.month).bounds_utc()
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


@endpoint(
    bp,
    "/visits",
    roles=READERS,
    query=VisitQuery,
    response=ListOut,
    summary="Visits (provider_id, worker_id, month=YYYY-MM, status, exception filters)",
)
def list_visits(query: VisitQuery):
    return paginate(filtered_visits(api_user(), query), query, visit_json)


@endpoint(bp, "/visits/<int:visit_id>", roles=READERS, response=VisitOut, summary="One visit")
def show_visit(visit_id: int):
    return visit_json(hc.get_visit(api_user(), visit_id))
