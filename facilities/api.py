"""Facilities, beds, stays and placement API (API.md "Facilities, beds, stays")."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from eldercare.api import Body, PageQuery, Query, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import scoping, services
from .models import Attendance, Bed, Facility, Leave, Stay, TransferRequest
from .queries import Occupancy, bed_status, beds_and_stays, facility_occupancy, occupancy

bp = Blueprint("facilities_api", __name__, url_prefix="/api/v1")

READ = (Role.ADMIN, Role.AUDITOR, Role.MANAGER)
WRITE = (Role.ADMIN, Role.MANAGER)
BUREAU = (Role.ADMIN,)


# --- shapes ---------------------------------------------------------------------------


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
    return {"id": f.id, "name": f.name, "kind": f.kind.value, "township_code": f.township_code,
            "address": f.address, "capacity": f.capacity,
            "beds_total": occ.beds, "beds_occupied": occ.occupied, "beds_held": occ.held,
            "beds_reserved": occ.reserved, "beds_out_of_service": occ.out_of_service,
            "beds_available": occ.available, "beds_nursing": occ.nursing,
            "residents": occ.residents, "occupancy_rate": occ.rate}


def stay_json(s: Stay) -> dict:
    leave = s.open_leave
    return {"id": s.id, "person_id": s.person_id, "person_name": s.person.name,
            "bed_id": s.bed_id, "bed_code": s.bed.code, "facility_id": s.facility_id,
            "start_date": s.start_date, "end_date": s.end_date,
            "end_reason": s.end_reason.value if s.end_reason else None,
            "previous_stay_id": s.previous_stay_id,
            "on_leave": leave_json(leave) if leave else None}


def leave_json(lv: Leave) -> dict:
    return {"id": lv.id, "stay_id": lv.stay_id, "kind": lv.kind.value,
            "start_date": lv.start_date, "expected_return": lv.expected_return,
            "returned_on": lv.returned_on,
            "overdue": lv.returned_on is None and lv.expected_return < local_today()}


def bed_json(b: Bed, stay: Stay | None = None, day: date | None = None) -> dict:
    status = bed_status(b, stay, day)
    return {"id": b.id, "facility_id": b.facility_id, "code": b.code,
            "room": b.room.code if b.room else None,
            "room_sex": b.room.sex.value if b.room else None, "kind": b.kind.value,
            "status": status, "person_id": stay.person_id if stay is not None
            and status in ("occupied", "held") else None,
            "stay_id": stay.id if stay is not None else None,
            "out_of_service_reason": b.out_of_service_reason or None,
            "reserved_for_id": b.reserved_for_id}


# --- facilities -----------------------------------------------------------------------


class FacilityQuery(PageQuery):
    kind: Literal["care_home", "day_care", "private", "homecare_org"] | None = None
    township_code: str | None = Field(None, max_length=12)
    q: str | None = Field(None, max_length=64)


@endpoint(bp, "/facilities", roles=READ, query=FacilityQuery, response=FacilityPage,
          summary="Facilities with their beds and occupancy today (a manager: their own)")
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


@endpoint(bp, "/facilities", ["POST"], roles=BUREAU, body=FacilityIn, response=FacilityOut,
          status=201, summary="Add a facility")
def facilities_create(body: FacilityIn):
    f = services.create_facility(body.name, body.kind, body.township_code, body.address,
                                 body.capacity, body.opened_on)
    out = facility_json(f)
    db.session.commit()
    return out


@endpoint(bp, "/facilities/<int:facility_id>", roles=READ, response=FacilityOut,
          summary="One facility with beds_total, beds_occupied and occupancy_rate")
def facilities_show(facility_id: int):
    return facility_json(scoping.get_facility(api_user(), facility_id))


class DayQuery(Query):
    date: dt.date | None = None


@endpoint(bp, "/facilities/<int:facility_id>/occupancy", roles=READ, query=DayQuery,
          summary="A facility's beds on a day (today by default), from history")
def facilities_occupancy(facility_id: int, query: DayQuery):
    f = scoping.get_facility(api_user(), facility_id)
    day = query.date or local_today()
    return {"facility_id": f.id, "date": day.isoformat(),
            **facility_occupancy(f.id, day).as_dict()}


class BedIn(Body):
    code: str = Field(min_length=1, max_length=20)
    room: str | None = Field(None, max_length=20)
    room_sex: Literal["M", "F", "mixed"] | None = None
    kind: Literal["ordinary", "nursing"] = "ordinary"


@endpoint(bp, "/facilities/<int:facility_id>/beds", ["POST"], roles=WRITE, body=BedIn,
          response=BedOut, status=201, summary="Add a bed (in a room, created when new)")
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


@endpoint(bp, "/facilities/<int:facility_id>/beds", roles=READ, query=BedQuery,
          response=BedPage, summary="A facility's beds with status and, where taken, person_id")
def beds_index(facility_id: int, query: BedQuery):
    f = scoping.get_facility(api_user(), facility_id)
    day = query.date or local_today()
    beds, stays = beds_and_stays(f.id, day)
    items = [bed_json(b, stays.get(b.id), day) for b in beds]
    if query.status:
        items = [i for i in items if i["status"] == query.status]
    start = (query.page - 1) * query.per_page
    return {"items": items[start:start + query.per_page], "total": len(items),
            "page": query.page, "per_page": query.per_page}


@endpoint(bp, "/beds/<int:bed_id>/history", roles=READ, query=PageQuery, response=StayPage,
          summary="The stays of a bed, newest first")
def beds_history(bed_id: int, query: PageQuery):
    bed = scoping.get_bed(api_user(), bed_id)
    stmt = (sa.select(Stay).where(Stay.bed_id == bed.id)
            .order_by(Stay.start_date.desc(), Stay.id.desc()))
    return paginate(stmt, query, stay_json)


@endpoint(bp, "/beds/<int:bed_id>/occupant", roles=READ, query=DayQuery,
          summary="Who was in the bed on a day (today by default)")
def beds_occupant(bed_id: int, query: DayQuery):
    bed = scoping.get_bed(api_user(), bed_id)
    day = query.date or local_today()
    stay = services.who_was_in_bed(bed, day)
    return {"bed_id": bed.id, "date": day.isoformat(),
            "stay": stay_json(stay) if stay else None}


class OutageIn(Body):
    date: dt.date | None = None
    reason: str = Field("", max_length=200)


@endpoint(bp, "/beds/<int:bed_id>/out-of-service", ["POST"], roles=WRITE, body=OutageIn,
          response=BedOut, summary="Take a vacant bed out of service")
def beds_out_of_service(bed_id: int, body: OutageIn):
    user = api_user()
    bed = scoping.get_bed(user, bed_id)
    services.set_out_of_service(bed, body.date or local_today(), body.reason, user)
    out = bed_json(bed)
    db.session.commit()
    return out


@endpoint(bp, "/beds/<int:bed_id>/in-service", ["POST"], roles=WRITE, body=OutageIn,
          response=BedOut, summary="Put a bed back in service")
def beds_in_service(bed_id: int, body: OutageIn):
    user = api_user()
    bed = scoping.get_bed(user, bed_id)
    services.back_in_service(bed, body.date or local_today(), user)
    out = bed_json(bed)
    db.session.commit()
    return out


class ReserveIn(Body):
    person_id: int | None = None
    id_number: str | None = Field(None, max_length=40, description=(
        "the full resident ID number, instead of person_id, for someone outside the home"))


@endpoint(bp, "/beds/<int:bed_id>/reservation", ["POST"], roles=WRITE, body=ReserveIn,
          response=BedOut, summary="Hold a vacant bed for a person (neither given: release)")
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


# --- stays ----------------------------------------------------------------------------


ID_NUMBER_DOC = ("the full resident ID number, instead of person_id: how a manager names "
                 "someone outside the home (a bare person_id outside it is 404)")


class StayIn(Body):
    person_id: int | None = None
    id_number: str | None = Field(None, max_length=40, description=ID_NUMBER_DOC)
    bed_id: int
    start_date: date


@endpoint(bp, "/stays", ["POST"], roles=WRITE, body=StayIn, response=StayOut, status=201,
          summary="Admit a person to a bed (409: bed taken or out of service, person in a bed)")
def stays_create(body: StayIn):
    user = api_user()
    bed = scoping.bed_any(body.bed_id)
    services.check_own_facility(user, bed.facility_id)
    named = scoping.person_named(user, body.person_id, body.id_number, placement=True,
                                 bed=bed)
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


@endpoint(bp, "/stays/<int:stay_id>/transfer", ["POST"], roles=WRITE, body=TransferIn,
          response=StayOut, summary="Move a resident to another bed: one operation")
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


@endpoint(bp, "/stays/<int:stay_id>/end", ["POST"], roles=WRITE, body=EndIn, response=StayOut,
          summary="End a stay (a death is recorded in the registry too)")
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


class LeaveOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    stay_id: int
    kind: str
    start_date: date
    expected_return: date
    returned_on: date | None


@endpoint(bp, "/stays/<int:stay_id>/leave", ["POST"], roles=WRITE, body=LeaveIn,
          response=LeaveOut, status=201, summary="Record a leave: the bed is held")
def stays_leave(stay_id: int, body: LeaveIn):
    user = api_user()
    leave = services.start_leave(scoping.get_stay(user, stay_id), body.kind, body.start_date,
                                 body.expected_return, user, body.note)
    out = leave_json(leave)
    db.session.commit()
    return out


class DateIn(Body):
    date: dt.date


@endpoint(bp, "/stays/<int:stay_id>/return", ["POST"], roles=WRITE, body=DateIn,
          response=LeaveOut, summary="The resident is back from leave")
def stays_return(stay_id: int, body: DateIn):
    user = api_user()
    leave = services.return_from_leave(scoping.get_stay(user, stay_id), body.date, user)
    out = leave_json(leave)
    db.session.commit()
    return out


# --- transfers between homes, census, attendance -------------------------------------


class TransferRequestIn(Body):
    stay_id: int
    bed_id: int
    date: dt.date
    reason: str = Field("", max_length=200)


def transfer_json(r: TransferRequest) -> dict:
    return {"id": r.id, "stay_id": r.stay_id, "to_bed_id": r.to_bed_id, "date": r.on_date,
            "status": r.status.value, "reason": r.reason, "new_stay_id": r.new_stay_id}


@endpoint(bp, "/transfer-requests", ["POST"], roles=WRITE, body=TransferRequestIn, status=201,
          summary="Ask the bureau to move a resident to another home")
def transfer_requests_create(body: TransferRequestIn):
    user = api_user()
    stay = scoping.get_stay(user, body.stay_id)
    req = services.request_transfer(stay, scoping.bed_any(body.bed_id), body.date, user,
                                    body.reason)
    out = transfer_json(req)
    db.session.commit()
    return out


@endpoint(bp, "/transfer-requests", roles=READ, query=PageQuery,
          summary="Transfer requests (a manager: those of their home)")
def transfer_requests_index(query: PageQuery):
    user = api_user()
    stmt = (sa.select(TransferRequest).join(Stay, Stay.id == TransferRequest.stay_id)
            .where(scoping.facility_clause(user, Stay.facility_id))
            .order_by(TransferRequest.id.desc()))
    return paginate(stmt, query, transfer_json)


class DecisionIn(Body):
    note: str = Field("", max_length=200)


@endpoint(bp, "/transfer-requests/<int:request_id>/approve", ["POST"], roles=BUREAU,
          body=DecisionIn, summary="Approve: the transfer happens now, as one operation")
def transfer_requests_approve(request_id: int, body: DecisionIn):
    user = api_user()
    req = scoping.get_transfer(user, request_id)
    services.approve_transfer(req, user, body.note)
    out = transfer_json(req)
    db.session.commit()
    return out


@endpoint(bp, "/transfer-requests/<int:request_id>/reject", ["POST"], roles=BUREAU,
          body=DecisionIn, summary="Reject a transfer request")
def transfer_requests_reject(request_id: int, body: DecisionIn):
    user = api_user()
    req = scoping.get_transfer(user, request_id)
    services.reject_transfer(req, user, body.note)
    out = transfer_json(req)
    db.session.commit()
    return out


class CensusIn(Body):
    date: dt.date | None = None


@endpoint(bp, "/facilities/<int:facility_id>/census", ["POST"], roles=WRITE, body=CensusIn,
          status=201, summary="Confirm the bed board for a day (once a day)")
def census_confirm(facility_id: int, body: CensusIn):
    user = api_user()
    row = services.confirm_census(scoping.get_facility(user, facility_id),
                                  body.date or local_today(), user)
    out = {"facility_id": row.facility_id, "date": row.day, "user": user.username,
           "at": row.at, "residents": row.residents}
    db.session.commit()
    return out


class AttendanceIn(Body):
    person_id: int | None = None
    id_number: str | None = Field(None, max_length=40, description=ID_NUMBER_DOC)
    day: date
    arrived_at: datetime | None = None
    left_at: datetime | None = None


def attendance_json(a: Attendance) -> dict:
    return {"id": a.id, "person_id": a.person_id, "facility_id": a.facility_id, "day": a.day,
            "arrived_at": a.arrived_at, "left_at": a.left_at}


@endpoint(bp, "/facilities/<int:facility_id>/attendance", ["POST"], roles=WRITE,
          body=AttendanceIn, summary="Day-care register: arrival and/or departure")
def attendance_record(facility_id: int, body: AttendanceIn):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    for name in ("arrived_at", "left_at"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            from eldercare.api import ApiError

            raise ApiError(422, "validation_failed", "时间须带时区", {name: "须带时区"})
    named = scoping.person_named(user, body.person_id, body.id_number)
    with scoping.discreet(named):
        row = services.record_attendance(f, named.person, body.day, body.arrived_at,
                                         body.left_at, user)
    out = attendance_json(row)
    db.session.commit()
    return out


class AttendanceQuery(PageQuery):
    day: dt.date | None = None


@endpoint(bp, "/facilities/<int:facility_id>/attendance", roles=READ, query=AttendanceQuery,
          summary="Day-care register of a day (today by default)")
def attendance_index(facility_id: int, query: AttendanceQuery):
    f = scoping.get_facility(api_user(), facility_id)
    stmt = (sa.select(Attendance).where(Attendance.facility_id == f.id,
                                        Attendance.day == (query.day or local_today()))
            .order_by(Attendance.id))
    return paginate(stmt, query, attendance_json)


# --- placement ------------------------------------------------------------------------


@endpoint(bp, "/people/<int:person_id>/placement-options", roles=(Role.ADMIN, Role.AUDITOR),
          summary="Vacant care-home beds for a 特困 applicant, ranked, with reasons")
def placement_options(person_id: int):
    from eldercare import scoping as core_scoping

    person = core_scoping.get_person(api_user(), person_id)
    options = services.placement_options(person)
    return {"person_id": person.id, "items": [
        {"rank": o.rank, "bed_id": o.bed.id, "bed_code": o.bed.code, "bed_kind": o.bed.kind.value,
         "room": o.room.code if o.room else None,
         "room_sex": o.room.sex.value if o.room else None,
         "facility_id": o.facility.id, "facility_name": o.facility.name,
         "township_code": o.facility.township_code, "same_township": o.same_township,
         "distance_km": o.distance_km, "reasons": o.reasons} for o in options]}


class PlaceIn(Body):
    person_id: int
    bed_id: int
    date: dt.date | None = None


@endpoint(bp, "/placements", ["POST"], roles=BUREAU, body=PlaceIn, response=StayOut,
          status=201, summary="Place a 特困 applicant: admit and record centralised support")
def placements_create(body: PlaceIn):
    from eldercare import scoping as core_scoping

    user = api_user()
    person = core_scoping.get_person(user, body.person_id)
    stay = services.place(person, scoping.bed_any(body.bed_id), body.date or local_today(), user)
    out = stay_json(stay)
    db.session.commit()
    return out
