"""Stays API: admit, transfer, end, leave and return; transfers between homes, which
the bureau decides; 五保 placement."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Literal

import sqlalchemy as sa
from pydantic import Field

from eldercare import scoping as core_scoping
from eldercare.apikit import Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import scoping, services
from .api import BUREAU, READ, WRITE, bp
from .models import Stay, TransferRequest
from .serializers import ID_NUMBER_DOC, LeaveOut, StayOut, leave_json, stay_json, transfer_json


class StayIn(Body):
    person_id: int | None = None
    id_number: str | None = Field(None, max_length=40, description=ID_NUMBER_DOC)
    bed_id: int
    start_date: date


@endpoint(
    bp,
    "/stays",
    ["POST"],
    roles=WRITE,
    body=StayIn,
    response=StayOut,
    status=201,
    summary="Admit a person to a bed (409: bed taken or out of service, person in a bed)",
)
def stays_create(body: StayIn):
    user = api_user()
    bed = scoping.bed_any(body.bed_id)
    services.check_own_facility(user, bed.facility_id)
    named = scoping.person_named(user, body.person_id, body.id_number, placement=True, bed=bed)
    with scoping.discreet(named):
        stay = services.admit(named.person, bed, body.start_date, user)
    out = stay_json(stay)
    db.session.commit()
    return out


@endpoint(bp, "/stays/<int:stay_id>", roles=READ, response=StayOut, summary="One stay")
def stays_show(stay_id: int):
    return stay_json(scoping.get_stay(api_user(), stay_id))


class TransferIn(Body):
    bed_id: int
    date: dt.date


@endpoint(
    bp,
    "/stays/<int:stay_id>/transfer",
    ["POST"],
    roles=WRITE,
    body=TransferIn,
    response=StayOut,
    summary="Move a resident to another bed: one operation",
)
def stays_transfer(stay_id: int, body: TransferIn):
    user = api_user()
    stay = scoping.get_stay(user, stay_id)
    new = services.transfer(stay, scoping.bed_any(body.bed_id), body.date, user)
    out = stay_json(new)
    db.session.commit()
    return out


class EndIn(Body):
    date: dt.date
    reason: Literal["discharged", "deceased", "moved", "other"]


@endpoint(
    bp,
    "/stays/<int:stay_id>/end",
    ["POST"],
    roles=WRITE,
    body=EndIn,
    response=StayOut,
    summary="End a stay (a death is recorded in the registry too)",
)
def stays_end(stay_id: int, body: EndIn):
    user = api_user()
    stay = services.end_stay(scoping.get_stay(user, stay_id), body.date, body.reason, user)
    out = stay_json(stay)
    db.session.commit()
    return out


class LeaveIn(Body):
    kind: Literal["hospital", "home_visit", "other"]
    start_date: date
    expected_return: date
    note: str = Field("", max_length=200)


@endpoint(
    bp,
    "/stays/<int:stay_id>/leave",
    ["POST"],
    roles=WRITE,
    body=LeaveIn,
    response=LeaveOut,
    status=201,
    summary="Record a leave: the bed is held",
)
def stays_leave(stay_id: int, body: LeaveIn):
    user = api_user()
    leave = services.start_leave(
        scoping.get_stay(user, stay_id),
        body.kind,
        body.start_date,
        body.expected_return,
        user,
        body.note,
    )
    out = leave_json(leave)
    db.session.commit()
    return out


class DateIn(Body):
    date: dt.date


@endpoint(
    bp,
    "/stays/<int:stay_id>/return",
    ["POST"],
    roles=WRITE,
    body=DateIn,
    response=LeaveOut,
    summary="The resident is back from leave",
)
def stays_return(stay_id: int, body: DateIn):
    user = api_user()
    leave = services.return_from_leave(scoping.get_stay(user, stay_id), body.date, user)
    out = leave_json(leave)
    db.session.commit()
    return out


# --- transfers between homes ---------------------------------------------------------


class TransferRequestIn(Body):
    stay_id: int
    bed_id: int
    date: dt.date
    reason: str = Field("", max_length=200)


@endpoint(
    bp,
    "/transfer-requests",
    ["POST"],
    roles=WRITE,
    body=TransferRequestIn,
    status=201,
    summary="Ask the bureau to move a resident to another home",
)
def transfer_requests_create(body: TransferRequestIn):
    user = api_user()
    stay = scoping.get_stay(user, body.stay_id)
    req = services.request_transfer(
        stay, scoping.bed_any(body.bed_id), body.date, user, body.reason
    )
    out = transfer_json(req)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/transfer-requests",
    roles=READ,
    query=PageQuery,
    summary="Transfer requests (a manager: those of their home)",
)
def transfer_requests_index(query: PageQuery):
    user = api_user()
    stmt = (
        sa.select(TransferRequest)
        .join(Stay, Stay.id == TransferRequest.stay_id)
        .where(scoping.facility_clause(user, Stay.facility_id))
        .order_by(TransferRequest.id.desc())
    )
    return paginate(stmt, query, transfer_json)


class DecisionIn(Body):
    note: str = Field("", max_length=200)


@endpoint(
    bp,
    "/transfer-requests/<int:request_id>/approve",
    ["POST"],
    roles=BUREAU,
    body=DecisionIn,
    summary="Approve: the transfer happens now, as one operation",
)
def transfer_requests_approve(request_id: int, body: DecisionIn):
    user = api_user()
    req = scoping.get_transfer(user, request_id)
    services.approve_transfer(req, user, body.note)
    out = transfer_json(req)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/transfer-requests/<int:request_id>/reject",
    ["POST"],
    roles=BUREAU,
    body=DecisionIn,
    summary="Reject a transfer request",
)
def transfer_requests_reject(request_id: int, body: DecisionIn):
    user = api_user()
    req = scoping.get_transfer(user, request_id)
    services.reject_transfer(req, user, body.note)
    out = transfer_json(req)
    db.session.commit()
    return out


# --- placement ------------------------------------------------------------------------


@endpoint(
    bp,
    "/people/<int:person_id>/placement-options",
    roles=(Role.ADMIN, Role.AUDITOR),
    summary="Vacant care-home beds for a 特困 applicant, ranked, with reasons",
)
def placement_options(person_id: int):
    person = core_scoping.get_person(api_user(), person_id)
    options = services.placement_options(person)
    return {
        "person_id": person.id,
        "items": [
            {
                "rank": o.rank,
                "bed_id": o.bed.id,
                "bed_code": o.bed.code,
                "bed_kind": o.bed.kind.value,
                "room": o.room.code if o.room else None,
                "room_sex": o.room.sex.value if o.room else None,
                "facility_id": o.facility.id,
                "facility_name": o.facility.name,
                "township_code": o.facility.township_code,
                "same_township": o.same_township,
                "distance_km": o.distance_km,
                "reasons": o.reasons,
            }
            for o in options
        ],
    }


class PlaceIn(Body):
    person_id: int
    bed_id: int
    date: dt.date | None = None


@endpoint(
    bp,
    "/placements",
    ["POST"],
    roles=BUREAU,
    body=PlaceIn,
    response=StayOut,
    status=201,
    summary="Place a 特困 applicant: admit and record centralised support",
)
def placements_create(body: PlaceIn):
    user = api_user()
    person = core_scoping.get_person(user, body.person_id)
    stay = services.place(person, scoping.bed_any(body.bed_id), body.date or local_today(), user)
    out = stay_json(stay)
    db.session.commit()
    return out
