"""What the facilities API answers: the response shapes the OpenAPI document publishes
and the functions that turn records into them (API.md "Facilities, beds, stays")."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from eldercare.timeutil import local_today

from .models import Attendance, Bed, Facility, Leave, Stay, TransferRequest
from .queries import Occupancy, bed_status, facility_occupancy

ID_NUMBER_DOC = (
    "the full resident ID number, instead of person_id: how a manager names "
    "someone outside the home (a bare person_id outside it is 404)"
)


class FacilityOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    name: str
    kind: Literal["care_home", "day_care", "private", "homecare_org"]
    township_code: str | None
    beds_total: int
    beds_occupied: int
    occupancy_rate: str


class FacilityPage(BaseModel):
    items: list[FacilityOut]
    total: int
    page: int
    per_page: int


class BedOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    facility_id: int
    code: str
    room: str | None
    kind: Literal["ordinary", "nursing"]
    status: Literal["available", "occupied", "held", "reserved", "out_of_service"]
    person_id: int | None


class BedPage(BaseModel):
    items: list[BedOut]
    total: int
    page: int
    per_page: int


class StayOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    person_id: int
    bed_id: int
    start_date: date
    end_date: date | None


class StayPage(BaseModel):
    items: list[StayOut]
    total: int
    page: int
    per_page: int


def facility_json(f: Facility, occ: Occupancy | None = None) -> dict:
    occ = occ or facility_occupancy(f.id)
    return {
        "id": f.id,
        "name": f.name,
        "kind": f.kind.value,
        "township_code": f.township_code,
        "address": f.address,
        "capacity": f.capacity,
        "opened_on": f.opened_on,
        "closed_on": f.closed_on,
        "beds_total": occ.beds,
        "beds_occupied": occ.occupied,
        "beds_held": occ.held,
        "beds_reserved": occ.reserved,
        "beds_out_of_service": occ.out_of_service,
        "beds_available": occ.available,
        "beds_nursing": occ.nursing,
        "residents": occ.residents,
        "occupancy_rate": occ.rate,
    }


def stay_json(s: Stay) -> dict:
    leave = s.open_leave
    return {
        "id": s.id,
        "person_id": s.person_id,
        "person_name": s.person.name,
        "bed_id": s.bed_id,
        "bed_code": s.bed.code,
        "facility_id": s.facility_id,
        "start_date": s.start_date,
        "end_date": s.end_date,
        "end_reason": s.end_reason.value if s.end_reason else None,
        "previous_stay_id": s.previous_stay_id,
        "on_leave": leave_json(leave) if leave else None,
    }


def leave_json(lv: Leave) -> dict:
    return {
        "id": lv.id,
        "stay_id": lv.stay_id,
        "kind": lv.kind.value,
        "start_date": lv.start_date,
        "expected_return": lv.expected_return,
        "returned_on": lv.returned_on,
        "overdue": lv.returned_on is None and lv.expected_return < local_today(),
    }


def bed_json(b: Bed, stay: Stay | None = None, day: date | None = None) -> dict:
    status = bed_status(b, stay, day)
    return {
        "id": b.id,
        "facility_id": b.facility_id,
        "code": b.code,
        "room": b.room.code if b.room else None,
        "room_sex": b.room.sex.value if b.room else None,
        "kind": b.kind.value,
        "status": status,
        "person_id": stay.person_id
        if stay is not None and status in ("occupied", "held")
        else None,
        "stay_id": stay.id if stay is not None else None,
        "out_of_service_reason": b.out_of_service_reason or None,
        "reserved_for_id": b.reserved_for_id,
    }


class LeaveOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    stay_id: int
    kind: str
    start_date: date
    expected_return: date
    returned_on: date | None


def transfer_json(r: TransferRequest) -> dict:
    return {
        "id": r.id,
        "stay_id": r.stay_id,
        "to_bed_id": r.to_bed_id,
        "date": r.on_date,
        "status": r.status.value,
        "reason": r.reason,
        "new_stay_id": r.new_stay_id,
    }


def attendance_json(a: Attendance) -> dict:
    return {
        "id": a.id,
        "person_id": a.person_id,
        "facility_id": a.facility_id,
        "day": a.day,
        "arrived_at": a.arrived_at,
        "left_at": a.left_at,
    }
