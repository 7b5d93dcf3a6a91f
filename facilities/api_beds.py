"""Beds API: add and list a facility's beds, a bed's history and occupant, out of
service and back, reservations."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from pydantic import Field

from eldercare.apikit import Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.timeutil import local_today

from . import scoping, services
from .api import READ, WRITE, DayQuery, bp
from .models import Stay
from .queries import beds_and_stays
from .serializers import BedOut, BedPage, StayPage, bed_json, stay_json


class BedIn(Body):
    code: str = Field(min_length=1, max_length=20)
    room: str | None = Field(None, max_length=20)
    room_sex: Literal["M", "F", "mixed"] | None = None
    kind: Literal["ordinary", "nursing"] = "ordinary"


@endpoint(
    bp,
    "/facilities/<int:facility_id>/beds",
    ["POST"],
    roles=WRITE,
    body=BedIn,
    response=BedOut,
    status=201,
    summary="Add a bed (in a room, created when new)",
)
def beds_create(facility_id: int, body: BedIn):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    bed = services.add_bed(f, body.code, body.kind, body.room, body.room_sex, user)
    out = bed_json(bed)
    db.session.commit()
    return out


class BedQuery(PageQuery):
    per_page: int = Field(500, ge=1, le=500)
    status: Literal["available", "occupied", "held", "reserved", "out_of_service"] | None = None
    date: dt.date | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/beds",
    roles=READ,
    query=BedQuery,
    response=BedPage,
    summary="A facility's beds with status and, where taken, person_id",
)
def beds_index(facility_id: int, query: BedQuery):
    f = scoping.get_facility(api_user(), facility_id)
    day = query.date or local_today()
    beds, stays = beds_and_stays(f.id, day)
    items = [bed_json(b, stays.get(b.id), day) for b in beds]
    if query.status:
        items = [i for i in items if i["status"] == query.status]
    start = (query.page - 1) * query.per_page
    return {
        "items": items[start : start + query.per_page],
        "total": len(items),
        "page": query.page,
        "per_page": query.per_page,
    }


@endpoint(
    bp,
    "/beds/<int:bed_id>/history",
    roles=READ,
    query=PageQuery,
    response=StayPage,
    summary="The stays of a bed, newest first",
)
def beds_history(bed_id: int, query: PageQuery):
    bed = scoping.get_bed(api_user(), bed_id)
    stmt = (
        sa.select(Stay)
        .where(Stay.bed_id == bed.id)
        .order_by(Stay.start_date.desc(), Stay.id.desc())
    )
    return paginate(stmt, query, stay_json)


@endpoint(
    bp,
    "/beds/<int:bed_id>/occupant",
    roles=READ,
    query=DayQuery,
    summary="Who was in the bed on a day (today by default)",
)
def beds_occupant(bed_id: int, query: DayQuery):
    bed = scoping.get_bed(api_user(), bed_id)
    day = query.date or local_today()
    stay = services.who_was_in_bed(bed, day)
    return {"bed_id": bed.id, "date": day.isoformat(), "stay": stay_json(stay) if stay else None}


class OutageIn(Body):
    date: dt.date | None = None
    reason: str = Field("", max_length=200)


@endpoint(
    bp,
    "/beds/<int:bed_id>/out-of-service",
    ["POST"],
    roles=WRITE,
    body=OutageIn,
    response=BedOut,
    summary="Take a vacant bed out of service",
)
def beds_out_of_service(bed_id: int, body: OutageIn):
    user = api_user()
    bed = scoping.get_bed(user, bed_id)
    services.set_out_of_service(bed, body.date or local_today(), body.reason, user)
    out = bed_json(bed)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/beds/<int:bed_id>/in-service",
    ["POST"],
    roles=WRITE,
    body=OutageIn,
    response=BedOut,
    summary="Put a bed back in service",
)
def beds_in_service(bed_id: int, body: OutageIn):
    user = api_user()
    bed = scoping.get_bed(user, bed_id)
    services.back_in_service(bed, body.date or local_today(), user)
    out = bed_json(bed)
    db.session.commit()
    return out


class ReserveIn(Body):
    person_id: int | None = None
    id_number: str | None = Field(
        None,
        max_length=40,
        description=(
            "the full resident ID number, instead of person_id, for someone outside the home"
        ),
    )


@endpoint(
    bp,
    "/beds/<int:bed_id>/reservation",
    ["POST"],
    roles=WRITE,
    body=ReserveIn,
    response=BedOut,
    summary="Hold a vacant bed for a person (neither given: release)",
)
def beds_reserve(bed_id: int, body: ReserveIn):
    user = api_user()
    bed = scoping.get_bed(user, bed_id)
    if body.person_id is None and not body.id_number:
        services.unreserve_bed(bed, user)
    else:
        named = scoping.person_named(user, body.person_id, body.id_number, placement=True)
        with scoping.discreet(named):
            services.reserve_bed(bed, named.person, user)
    out = bed_json(bed)
    db.session.commit()
    return out
