"""Set-up API (issue 17.2), beside the pages of views_setup.py: edit and close a
facility (the bureau); list, add and edit rooms, edit a bed (the bureau, or the home's
own manager). Adding a facility or a bed is in api.py and api_beds.py."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from pydantic import Field

from eldercare.apikit import Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.timeutil import local_today

from . import scoping, services
from .api import BUREAU, READ, WRITE, bp
from .models import Room
from .serializers import BedOut, FacilityOut, bed_json, facility_json


class FacilityPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=80)
    township_code: str | None = Field(None, max_length=12, description='"" clears it')
    address: str | None = Field(None, max_length=200)
    capacity: int | None = Field(None, ge=0, le=100_000)
    opened_on: dt.date | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>",
    ["PATCH"],
    roles=BUREAU,
    body=FacilityPatch,
    response=FacilityOut,
    summary="Change a facility's particulars (not its kind)",
)
def facilities_update(facility_id: int, body: FacilityPatch):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    services.update_facility(
        f,
        name=body.name,
        township_code=body.township_code,
        address=body.address,
        capacity=body.capacity,
        opened_on=body.opened_on,
        user=user,
    )
    out = facility_json(f)
    db.session.commit()
    return out


class CloseIn(Body):
    date: dt.date | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/close",
    ["POST"],
    roles=BUREAU,
    body=CloseIn,
    response=FacilityOut,
    summary="Close an empty facility from a date (today by "
    "default); 409 facility_not_empty while anyone stays or a bed is reserved",
)
def facilities_close(facility_id: int, body: CloseIn):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    services.close_facility(f, body.date or local_today(), user)
    out = facility_json(f)
    db.session.commit()
    return out


def room_json(r: Room) -> dict:
    return {
        "id": r.id,
        "facility_id": r.facility_id,
        "code": r.code,
        "sex": r.sex.value,
        "beds": len(r.beds),
    }


@endpoint(
    bp,
    "/facilities/<int:facility_id>/rooms",
    roles=READ,
    query=PageQuery,
    summary="A facility's rooms",
)
def rooms_index(facility_id: int, query: PageQuery):
    f = scoping.get_facility(api_user(), facility_id)
    return paginate(
        sa.select(Room).where(Room.facility_id == f.id).order_by(Room.code), query, room_json
    )


class RoomIn(Body):
    code: str = Field(min_length=1, max_length=20)
    sex: Literal["M", "F", "mixed"] = "mixed"


class RoomPatch(Body):
    code: str | None = Field(None, min_length=1, max_length=20)
    sex: Literal["M", "F", "mixed"] | None = None


@endpoint(
    bp,
    "/facilities/<int:facility_id>/rooms",
    ["POST"],
    roles=WRITE,
    body=RoomIn,
    status=201,
    summary="Add a room",
)
def rooms_create(facility_id: int, body: RoomIn):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    room = services.add_room(f, body.code, body.sex, user)
    out = room_json(room)
    db.session.commit()
    return out


def _room(user, room_id: int) -> Room:
    room = db.session.scalar(
        sa.select(Room).where(Room.id == room_id, scoping.facility_clause(user, Room.facility_id))
    )
    if room is None:
        raise NotFound(_l("未找到该房间"))
    return room


@endpoint(
    bp,
    "/rooms/<int:room_id>",
    ["PATCH"],
    roles=WRITE,
    body=RoomPatch,
    summary="Rename a room or change whom it is for",
)
def rooms_update(room_id: int, body: RoomPatch):
    user = api_user()
    room = services.update_room(_room(user, room_id), code=body.code, sex=body.sex, user=user)
    out = room_json(room)
    db.session.commit()
    return out


class BedPatch(Body):
    code: str | None = Field(None, min_length=1, max_length=20)
    kind: Literal["ordinary", "nursing"] | None = None
    room_id: int | None = Field(None, ge=0, description="0: in no room")


@endpoint(
    bp,
    "/beds/<int:bed_id>",
    ["PATCH"],
    roles=WRITE,
    body=BedPatch,
    response=BedOut,
    summary="Renumber a bed, change its kind or its room (of the same home)",
)
def beds_update(bed_id: int, body: BedPatch):
    user = api_user()
    bed = services.update_bed(
        scoping.get_bed(user, bed_id),
        code=body.code,
        kind=body.kind,
        room_id=body.room_id,
        user=user,
    )
    db.session.refresh(bed)
    out = bed_json(bed, services.who_was_in_bed(bed, local_today()))
    db.session.commit()
    return out
