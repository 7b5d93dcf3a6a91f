"""Every rule of facilities, rooms, beds and stays: this module's functions and the
modules it gathers, so that callers (pages, API, homecare) have one interface. Functions
flush, never commit.

- facilities, rooms and beds: here;
- the checks and locks every bed operation takes, and their order: guards.py;
- stays (admit, transfer, end, leave; what a death or a move ends): stays.py;
- beds out of service and reservations: availability.py;
- editing and closing facilities, rooms, editing beds: setup.py;
- transfers between homes: transfers.py;
- census and day-care attendance: registers.py;
- 五保 placement: placement.py; the read side: queries.py.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import User
from eldercare.timeutil import local_today

# The rest of the interface, gathered here (see the docstring).
from .availability import back_in_service, reserve_bed, set_out_of_service, unreserve_bed
from .guards import check_own_facility, hold_facility_open
from .models import Bed, BedKind, Facility, FacilityKind, Room, RoomSex
from .placement import place
from .queries import (
    bed_history,
    bed_status,
    district_occupancy,
    facility_occupancy,
    occupancy,
    overdue_leaves,
    stays_on,
    waiting_list,
    who_was_in_bed,
)
from .registers import confirm_census, record_attendance
from .setup import add_room, close_facility, update_bed, update_facility, update_room
from .stays import (
    admit,
    end_stay,
    end_stays_for,
    open_stay_of,
    return_from_leave,
    start_leave,
    transfer,
)
from .transfers import approve_transfer, reject_transfer, request_transfer
from .vacancies import placement_options, vacant_beds

__all__ = [
    "add_bed",
    "add_room",
    "admit",
    "approve_transfer",
    "back_in_service",
    "bed_history",
    "bed_status",
    "check_own_facility",
    "close_facility",
    "confirm_census",
    "create_facility",
    "district_occupancy",
    "end_stay",
    "end_stays_for",
    "facility_occupancy",
    "occupancy",
    "open_stay_of",
    "overdue_leaves",
    "place",
    "placement_options",
    "record_attendance",
    "reject_transfer",
    "request_transfer",
    "reserve_bed",
    "return_from_leave",
    "room_for",
    "set_out_of_service",
    "start_leave",
    "stays_on",
    "transfer",
    "unreserve_bed",
    "update_bed",
    "update_facility",
    "update_room",
    "vacant_beds",
    "waiting_list",
    "who_was_in_bed",
]

# --- facilities, rooms, beds ----------------------------------------------------------


def create_facility(
    name: str,
    kind: str,
    township_code: str | None = None,
    address: str = "",
    capacity: int = 0,
    opened_on: date | None = None,
) -> Facility:
    """Add a facility. Raises Invalid for an empty name or unknown township, Conflict
    (duplicate_name) when the name is taken."""
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("名称不能为空"), fields={"name": _l("名称不能为空")})
    if township_code:
        from eldercare.models import Region

        t = db.session.get(Region, township_code)
        if t is None or t.level != "township":
            raise Invalid(
                _l("无此乡镇（街道）"), fields={"township_code": _l("无此乡镇（街道）代码")}
            )
    if db.session.scalar(sa.select(Facility.id).where(Facility.name == name)):
        raise Conflict(_l("该机构名称已存在"), fields={"name": _l("已存在")}, code="duplicate_name")
    facility = Facility(
        name=name,
        kind=FacilityKind(kind),
        township_code=township_code or None,
        address=address or "",
        capacity=capacity or 0,
        opened_on=opened_on,
    )
    db.session.add(facility)
    db.session.flush()
    return facility


def room_for(facility: Facility, code: str, sex: str | None = None) -> Room:
    """The room `code` of the facility, created on first use (sex mixed unless given)."""
    code = code.strip()
    room = db.session.scalar(
        sa.select(Room).where(Room.facility_id == facility.id, Room.code == code)
    )
    if room is None:
        room = Room(facility_id=facility.id, code=code, sex=RoomSex(sex or "mixed"))
        db.session.add(room)
        db.session.flush()
    elif sex and room.sex != RoomSex(sex):
        room.sex = RoomSex(sex)
    return room


def add_bed(
    facility: Facility,
    code: str,
    kind: str = "ordinary",
    room: str | None = None,
    room_sex: str | None = None,
    user: User | None = None,
    created_on: date | None = None,
) -> Bed:
    """Add a bed (in a room, created if new). Raises NotOwnFacility for another home's
    manager, Conflict (duplicate_bed_code) when the code is taken in this facility."""
    check_own_facility(user, facility.id)
    hold_facility_open(facility.id)
    code = (code or "").strip()
    if not code:
        raise Invalid(_l("床位号不能为空"), fields={"code": _l("床位号不能为空")})
    if db.session.scalar(sa.select(Bed.id).where(Bed.facility_id == facility.id, Bed.code == code)):
        raise Conflict(
            _l("本机构已有该床位号"), fields={"code": _l("已存在")}, code="duplicate_bed_code"
        )
    r = room_for(facility, room, room_sex) if room else None
    bed = Bed(
        facility_id=facility.id,
        room=r,
        code=code,
        kind=BedKind(kind),
        created_on=created_on or local_today(),
    )
    db.session.add(bed)
    db.session.flush()
    return bed
