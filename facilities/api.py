"""Facilities API (API.md "Facilities, beds, stays"): the blueprint and the facilities'
own endpoints (list, add, one, occupancy, census, day-care attendance). Beds are in
api_beds.py; stays, transfers between homes and placement in api_stays.py; the answers'
shapes in serializers.py."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from flask import Blueprint
from pydantic import Field

from eldercare.api_errors import ApiError
from eldercare.apikit import Body, PageQuery, Query, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import scoping, services
from .models import Attendance, Facility
from .queries import Occupancy, facility_occupancy, occupancy
from .serializers import (
    ID_NUMBER_DOC,
    FacilityOut,
    FacilityPage,
    attendance_json,
    facility_json,
)

bp = Blueprint("facilities_api", __name__, url_prefix="/api/v1")

READ = (Role.ADMIN, Role.AUDITOR, Role.MANAGER)
WRITE = (Role.ADMIN, Role.MANAGER)
BUREAU = (Role.ADMIN,)


class FacilityQuery(PageQuery):
    kind: Literal["care_home", "day_care", "private", "homecare_org"] | None = None
    township_code: str | None = Field(None, max_length=12)
    q: str | None = Field(None, max_length=64)


@endpoint(
    bp,
    "/facilities",
    roles=READ,
    query=FacilityQuery,
    response=FacilityPage,
    summary="Facilities with their beds and occupancy today (a manager: their own)",
)
def facilities_index(query: FacilityQuery):
    stmt = scoping.facilities(api_user()).order_by(Facility.kind, Facility.name)
    if query.kind:
        stmt = stmt.where(Facility.kind == query.kind)
    if query.township_code:
        stmt = stmt.where(Facility.township_code == query.township_code)
    if query.q:
        stmt = stmt.where(Facility.name.contains(query.q, autoescape=True))
    page = paginate(stmt, query, lambda f: f)
    occ = occupancy(local_today(), [f.id for f in page["items"]])
    page["items"] = [facility_json(f, occ.get(f.id, Occupancy())) for f in page["items"]]
    return page


class FacilityIn(Body):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["care_home", "day_care", "private", "homecare_org"]
    township_code: str | None = Field(None, max_length=12)
    address: str = Field("", max_length=200)
    capacity: int = Field(0, ge=0, le=100_000)
    opened_on: date | None = None


@endpoint(
    bp,
    "/facilities",
    ["POST"],
    roles=BUREAU,
    body=FacilityIn,
    response=FacilityOut,
    status=201,
    summary="Add a facility",
)
def facilities_create(body: FacilityIn):
    f = services.create_facility(
        body.name, body.kind, body.township_code, body.address, body.capacity, body.opened_on
    )
    out = facility_json(f)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/facilities/<int:facility_id>",
    roles=READ,
    response=FacilityOut,
    summary="One facility with beds_total, beds_occupied and occupancy_rate",
)
def facilities_show(facility_id: int):
    return facility_json(scoping.get_facility(api_user(), facility_id))


class DayQuery(Query):
    date: dt.date | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/occupancy",
    roles=READ,
    query=DayQuery,
    summary="A facility's beds on a day (today by default), from history",
)
def facilities_occupancy(facility_id: int, query: DayQuery):
    f = scoping.get_facility(api_user(), facility_id)
    day = query.date or local_today()
    return {"facility_id": f.id, "date": day.isoformat(), **facility_occupancy(f.id, day).as_dict()}


# --- census, attendance ------------------------------------------------------------


class CensusIn(Body):
    date: dt.date | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/census",
    ["POST"],
    roles=WRITE,
    body=CensusIn,
    status=201,
    summary="Confirm the bed board for a day (once a day)",
)
def census_confirm(facility_id: int, body: CensusIn):
    user = api_user()
    row = services.confirm_census(
        scoping.get_facility(user, facility_id), body.date or local_today(), user
    )
    out = {
        "facility_id": row.facility_id,
        "date": row.day,
        "user": user.username,
        "at": row.at,
        "residents": row.residents,
    }
    db.session.commit()
    return out


class AttendanceIn(Body):
    person_id: int | None = None
    id_number: str | None = Field(None, max_length=40, description=ID_NUMBER_DOC)
    day: date
    arrived_at: datetime | None = None
    left_at: datetime | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/attendance",
    ["POST"],
    roles=WRITE,
    body=AttendanceIn,
    summary="Day-care register: arrival and/or departure",
)
def attendance_record(facility_id: int, body: AttendanceIn):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    for name in ("arrived_at", "left_at"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "validation_failed", "时间须带时区", {name: "须带时区"})
    named = scoping.person_named(user, body.person_id, body.id_number)
    with scoping.discreet(named):
        row = services.record_attendance(
            f, named.person, body.day, body.arrived_at, body.left_at, user
        )
    out = attendance_json(row)
    db.session.commit()
    return out


class AttendanceQuery(PageQuery):
    day: dt.date | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/attendance",
    roles=READ,
    query=AttendanceQuery,
    summary="Day-care register of a day (today by default)",
)
def attendance_index(facility_id: int, query: AttendanceQuery):
    f = scoping.get_facility(api_user(), facility_id)
    stmt = (
        sa.select(Attendance)
        .where(Attendance.facility_id == f.id, Attendance.day == (query.day or local_today()))
        .order_by(Attendance.id)
    )
    return paginate(stmt, query, attendance_json)
