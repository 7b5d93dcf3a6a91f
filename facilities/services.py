"""Every rule of facilities, rooms, beds and stays. Functions flush, never commit.

Concurrency (ENGINEERING.md): an admission first locks the person's row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite writers already hold the database lock
from BEGIN IMMEDIATE), then *claims* the bed with a conditional update that must touch
exactly one row (in service, and in the admitting manager's own home), which locks the
bed row until commit. Only then are back-dated overlaps checked, so the check sees
every committed stay. The partial unique indexes on open stays are the last word.
Locks are always taken person first, then bed, so two admissions cannot deadlock.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from eldercare import audit
from eldercare.errors import Conflict, Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, Role, Support, User
from eldercare.people import services as people
from eldercare.timeutil import local_today

from .errors import (
    BadDate,
    BedOccupied,
    BedOutOfService,
    BedReserved,
    BeforeBirth,
    NotOnLeave,
    NotOwnFacility,
    OnLeave,
    PersonAlreadyInBed,
    PersonNotActive,
    StayNotOpen,
)
from .models import (
    Attendance,
    Bed,
    BedKind,
    BedOutage,
    CensusConfirmation,
    EndReason,
    Facility,
    FacilityKind,
    Leave,
    LeaveKind,
    Room,
    RoomSex,
    Stay,
    TransferRequest,
    TransferStatus,
)
from .queries import (  # noqa: F401  (the read side, part of this module's interface)
    bed_history,
    bed_status,
    district_occupancy,
    facility_occupancy,
    occupancy,
    overdue_leaves,
    placement_options,
    stays_on,
    vacant_beds,
    waiting_list,
    who_was_in_bed,
)

# --- facilities, rooms, beds ----------------------------------------------------------


def _is_manager(user: User | None) -> bool:
    return user is not None and user.role == Role.MANAGER


def check_own_facility(user: User | None, facility_id: int) -> None:
    """Raise NotOwnFacility (403) when a manager acts outside their own home."""
    if _is_manager(user) and user.facility_id != facility_id:
        raise NotOwnFacility(_l("只能管理本机构的床位"))


def create_facility(name: str, kind: str, township_code: str | None = None, address: str = "",
                    capacity: int = 0, opened_on: date | None = None) -> Facility:
    """Add a facility. Raises Invalid for an empty name or unknown township, Conflict
    (duplicate_name) when the name is taken."""
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("名称不能为空"), fields={"name": _l("名称不能为空")})
    if township_code:
        from eldercare.models import Region

        t = db.session.get(Region, township_code)
        if t is None or t.level != "township":
            raise Invalid(_l("无此乡镇（街道）"),
                          fields={"township_code": _l("无此乡镇（街道）代码")})
    if db.session.scalar(sa.select(Facility.id).where(Facility.name == name)):
        raise Conflict(_l("该机构名称已存在"), fields={"name": _l("已存在")}, code="duplicate_name")
    facility = Facility(name=name, kind=FacilityKind(kind), township_code=township_code or None,
                        address=address or "", capacity=capacity or 0, opened_on=opened_on)
    db.session.add(facility)
    db.session.flush()
    return facility


def room_for(facility: Facility, code: str, sex: str | None = None) -> Room:
    """The room `code` of the facility, created on first use (sex mixed unless given)."""
    code = code.strip()
    room = db.session.scalar(sa.select(Room).where(Room.facility_id == facility.id,
                                                   Room.code == code))
    if room is None:
        room = Room(facility_id=facility.id, code=code, sex=RoomSex(sex or "mixed"))
        db.session.add(room)
        db.session.flush()
    elif sex and room.sex != RoomSex(sex):
        room.sex = RoomSex(sex)
    return room


def add_bed(facility: Facility, code: str, kind: str = "ordinary", room: str | None = None,
            room_sex: str | None = None, user: User | None = None,
            created_on: date | None = None) -> Bed:
    """Add a bed (in a room, created if new). Raises NotOwnFacility for another home's
    manager, Conflict (duplicate_bed_code) when the code is taken in this facility."""
    check_own_facility(user, facility.id)
    code = (code or "").strip()
    if not code:
        raise Invalid(_l("床位号不能为空"), fields={"code": _l("床位号不能为空")})
    if db.session.scalar(sa.select(Bed.id).where(Bed.facility_id == facility.id,
                                                 Bed.code == code)):
        raise Conflict(_l("本机构已有该床位号"), fields={"code": _l("已存在")},
                       code="duplicate_bed_code")
    r = room_for(facility, room, room_sex) if room else None
    bed = Bed(facility_id=facility.id, room=r, code=code, kind=BedKind(kind),
              created_on=created_on or local_today())
    db.session.add(bed)
    db.session.flush()
    return bed


def _claim_bed(bed: Bed, user: User | None, *, in_service: bool = True) -> None:
    """Lock the bed row by a conditional update that must touch exactly one row: the bed
    is in service (unless `in_service` is False) and, for a manager, in their own home.
    Raises BedOutOfService or NotOwnFacility otherwise."""
    conds = [Bed.id == bed.id]
    if in_service:
        conds.append(Bed.out_of_service.is_(False))
    if _is_manager(user):
        conds.append(Bed.facility_id == sa.select(User.facility_id).where(
            User.id == user.id, User.role == Role.MANAGER).scalar_subquery())
    result = db.session.execute(
        sa.update(Bed).where(*conds).values(version=Bed.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(bed)
        check_own_facility(user, bed.facility_id)
        raise BedOutOfService(_l("床位 %(code)s 已停用", code=bed.code),
                              fields={"bed_id": _l("床位已停用")})


def _lock_person(person: Person) -> None:
    """Serialise everything done to one person's stays (PostgreSQL row lock; on SQLite
    the write transaction already holds the database lock)."""
    db.session.execute(sa.select(Person.id).where(Person.id == person.id).with_for_update())


def _overlapping(column, value, start: date, end: date | None, exclude=()) -> Stay | None:
    """A stay on `column == value` that overlaps [start, end) (end None: open)."""
    stmt = sa.select(Stay).where(column == value,
                                 sa.or_(Stay.end_date.is_(None), Stay.end_date > start))
    if end is not None:
        stmt = stmt.where(Stay.start_date < end)
    if exclude:
        stmt = stmt.where(Stay.id.not_in(exclude))
    return db.session.scalars(stmt.order_by(Stay.start_date).limit(1)).first()


def _check_day(day: date, field: str = "date", earliest: date | None = None) -> None:
    if day > local_today():
        raise BadDate(_l("日期不能晚于今天"), fields={field: _l("不能晚于今天")})
    if earliest is not None and day < earliest:
        raise BadDate(_l("日期早于允许的最早日期"),
                      fields={field: _l("不能早于 %(earliest)s", earliest=earliest.isoformat())})


def _check_person_active(person: Person) -> None:
    if person.status != PersonStatus.ACTIVE:
        word = _l("已去世") if person.status == PersonStatus.DECEASED else _l("已迁出")
        raise PersonNotActive(_l("%(name)s%(word)s，不能办理入住", name=person.name, word=word))


def _check_free(person: Person, bed: Bed, start: date, exclude=()) -> None:
    other = _overlapping(Stay.person_id, person.id, start, None, exclude)
    if other is not None:
        raise PersonAlreadyInBed(
            _l("%(name)s 在 %(start_date)s 起已有床位（%(code)s）", name=person.name,
               start_date=other.start_date.isoformat(), code=other.bed.code),
            fields={"person_id": _l("此人已有床位")})
    other = _overlapping(Stay.bed_id, bed.id, start, None, exclude)
    if other is not None:
        raise BedOccupied(_l("床位 %(code)s 在该日期已有人入住（%(name)s）", code=bed.code,
                             name=other.person.name),
                          fields={"bed_id": _l("床位已有人入住")})


def _insert_stay(stay: Stay) -> Stay:
    """Insert under a savepoint, so that the partial unique indexes' verdict becomes the
    domain error the caller expects rather than a bare integrity error."""
    try:
        with db.session.begin_nested():
            db.session.add(stay)
            db.session.flush()
    except IntegrityError as exc:
        text = str(exc.orig)
        if "person" in text:
            raise PersonAlreadyInBed(_l("此人已有床位"),
                                     fields={"person_id": _l("此人已有床位")}) from None
        raise BedOccupied(_l("床位已有人入住"), fields={"bed_id": _l("床位已有人入住")}) from None
    return stay


def admit(person: Person, bed: Bed, start: date, user: User | None = None) -> Stay:
    """Admit `person` to `bed` from `start` (back-dated allowed, never in the future).

    Raises NotOwnFacility (a manager outside their home), PersonNotActive (dead or moved
    away), BedOutOfService, BedReserved (held for someone else), PersonAlreadyInBed and
    BedOccupied (any overlap, open or back-dated). Adds the open stay; flushes."""
    check_own_facility(user, bed.facility_id)
    _check_person_active(person)
    _check_day(start, "start_date")
    if start < person.birth_date:
        raise BeforeBirth(_l("入住日期早于出生日期"),
                          fields={"start_date": _l("不能早于 %(birth_date)s",
                                                   birth_date=person.birth_date.isoformat())})
    _lock_person(person)
    _claim_bed(bed, user)
    db.session.refresh(bed)
    if bed.reserved_for_id not in (None, person.id):
        raise BedReserved(_l("床位 %(code)s 已预留给他人", code=bed.code),
                          fields={"bed_id": _l("已预留")})
    _check_free(person, bed, start)
    stay = _insert_stay(Stay(person_id=person.id, person=person, bed_id=bed.id,
                             facility_id=bed.facility_id, start_date=start,
                             created_by=user.id if user else None))
    if bed.reserved_for_id == person.id:
        bed.reserved_for_id = None
    if start < bed.created_on:  # a late record shows the bed was there already
        bed.created_on = start
    db.session.flush()
    return stay


def _require_open(stay: Stay) -> None:
    if stay.end_date is not None:
        raise StayNotOpen(_l("%(name)s 的这次入住已于 %(end_date)s 结束", name=stay.person.name,
                             end_date=stay.end_date.isoformat()))


def transfer(stay: Stay, bed: Bed, on: date, user: User | None = None,
             ) -> Stay:
    """Move the resident of the open `stay` to `bed` from `on`, as ONE operation: the old
    stay ends on `on` (reason transferred) and the new one opens, in this transaction.

    A manager may move residents only between beds of their own home; between homes,
    use request_transfer (the bureau approves). Raises StayNotOpen, OnLeave, Invalid
    (same bed), NotOwnFacility, BedOutOfService, BedOccupied, PersonAlreadyInBed."""
    check_own_facility(user, stay.facility_id)
    check_own_facility(user, bed.facility_id)
    _require_open(stay)
    if bed.id == stay.bed_id:
        raise Invalid(_l("新床位与原床位相同"), fields={"bed_id": _l("请选择另一张床位")})
    _check_day(on, "date", stay.start_date)
    person = stay.person
    _check_person_active(person)
    _lock_person(person)
    _claim_bed(bed, user)
    db.session.refresh(stay)
    _require_open(stay)
    if stay.open_leave is not None:
        raise OnLeave(_l("%(name)s 正在请假，请先销假再转床", name=person.name))
    if any(lv.start_date >= on for lv in stay.leaves):
        raise BadDate(_l("转床日期早于已登记的请假"), fields={"date": _l("早于已登记的请假")})
    db.session.refresh(bed)
    if bed.reserved_for_id not in (None, person.id):
        raise BedReserved(_l("床位 %(code)s 已预留给他人", code=bed.code),
                          fields={"bed_id": _l("已预留")})
    _check_free(person, bed, on, exclude=(stay.id,))
    stay.end_date, stay.end_reason = on, EndReason.TRANSFERRED
    db.session.flush()  # the open-stay index frees the person before the new stay
    new = _insert_stay(Stay(person_id=person.id, person=person, bed_id=bed.id,
                            facility_id=bed.facility_id, start_date=on, previous_stay_id=stay.id,
                            created_by=user.id if user else None))
    if bed.reserved_for_id == person.id:
        bed.reserved_for_id = None
    db.session.flush()
    return new


def end_stay(stay: Stay, on: date, reason: str, user: User | None = None) -> Stay:
    """End the open `stay` on `on` (the first day out of the bed) for `reason`.

    A death goes through the registry's death action (people.services.record_death),
    which ends this stay, the 特困 support and every enrolment in one transaction. An
    open leave closes on the same day. A 特困 person discharged from centralised support
    (集中供养) goes back to dispersed support (分散供养) from that day, so the
    centralised figure stays the number of 特困 persons in beds. Raises StayNotOpen,
    NotOwnFacility, BadDate."""
    check_own_facility(user, stay.facility_id)
    _require_open(stay)
    reason = EndReason(reason)
    _check_day(on, "date", stay.start_date)
    _lock_person(stay.person)
    if any(lv.start_date > on for lv in stay.leaves):
        raise BadDate(_l("结束日期早于已登记的请假"), fields={"date": _l("早于已登记的请假")})
    if reason == EndReason.DECEASED and stay.person.status == PersonStatus.ACTIVE:
        people.record_death(stay.person, on)  # the person_died receiver ends the stay
        db.session.refresh(stay)
        return stay
    _close(stay, on, reason)
    support = stay.person.current_support
    if (reason in (EndReason.DISCHARGED, EndReason.OTHER) and support is not None
            and support.support == Support.CENTRALIZED and on > support.start_date):
        people.start_wubao(stay.person, support.category.value, "dispersed", on)
    return stay


def _close(stay: Stay, on: date, reason: EndReason) -> None:
    on = max(on, stay.start_date)
    leave = stay.open_leave
    if leave is not None:
        leave.returned_on = max(on, leave.start_date)
    stay.end_date, stay.end_reason = on, reason
    db.session.flush()


def open_stay_of(person_id: int) -> Stay | None:
    return db.session.scalar(sa.select(Stay).where(Stay.person_id == person_id,
                                                   Stay.end_date.is_(None)))


def end_stays_for(person: Person, on: date, reason: EndReason) -> Stay | None:
    """Receiver side of person_died / person_moved: end the open stay on `on`, cancel
    pending transfer requests and reservations. Flushes only."""
    stay = open_stay_of(person.id)
    if stay is not None:
        _close(stay, on, reason)
        cancelled = db.session.execute(
            sa.update(TransferRequest)
            .where(TransferRequest.stay_id == stay.id,
                   TransferRequest.status == TransferStatus.PENDING)
            .values(status=TransferStatus.REJECTED, decision_note="入住已结束")
            .execution_options(synchronize_session=False))
        if cancelled.rowcount:
            audit.record("transfer_rejected", "transfer_requests", None,
                         {"stay_id": stay.id, "note": "入住已结束"})
    db.session.execute(sa.update(Bed).where(Bed.reserved_for_id == person.id)
                       .values(reserved_for_id=None)
                       .execution_options(synchronize_session=False))
    return stay


def _on_death(person: Person, on: date, **_kw) -> None:
    end_stays_for(person, on, EndReason.DECEASED)


def _on_move(person: Person, on: date, **_kw) -> None:
    end_stays_for(person, on, EndReason.MOVED)


# --- leave ----------------------------------------------------------------------------


def start_leave(stay: Stay, kind: str, start: date, expected_return: date,
                user: User | None = None, note: str = "") -> Leave:
    """Record a temporary absence (hospital, home visit): the bed is held. Raises
    StayNotOpen, OnLeave (already away: the open-leave index), BadDate."""
    check_own_facility(user, stay.facility_id)
    _require_open(stay)
    _check_day(start, "start_date", stay.start_date)
    if expected_return < start:
        raise BadDate(_l("预计返回日期早于请假日期"),
                      fields={"expected_return": _l("早于请假日期")})
    _lock_person(stay.person)
    db.session.refresh(stay)
    if stay.open_leave is not None:
        raise OnLeave(_l("%(name)s 已在请假中", name=stay.person.name))
    if any(lv.returned_on and lv.returned_on > start for lv in stay.leaves):
        raise BadDate(_l("与已登记的请假重叠"), fields={"start_date": _l("与已登记的请假重叠")})
    leave = Leave(stay_id=stay.id, kind=LeaveKind(kind), start_date=start,
                  expected_return=expected_return, note=note or "")
    try:
        with db.session.begin_nested():
            db.session.add(leave)
            db.session.flush()
    except IntegrityError:
        raise OnLeave(_l("%(name)s 已在请假中", name=stay.person.name)) from None
    db.session.expire(stay, ["leaves"])
    return leave


def return_from_leave(stay: Stay, on: date, user: User | None = None) -> Leave:
    """The resident is back in the bed on `on`. Raises NotOnLeave, BadDate."""
    check_own_facility(user, stay.facility_id)
    _require_open(stay)
    leave = stay.open_leave
    if leave is None:
        raise NotOnLeave(_l("%(name)s 不在请假中", name=stay.person.name))
    _check_day(on, "date", leave.start_date)
    result = db.session.execute(
        sa.update(Leave).where(Leave.id == leave.id, Leave.returned_on.is_(None))
        .values(returned_on=on).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise NotOnLeave(_l("%(name)s 已销假", name=stay.person.name))
    db.session.refresh(leave)
    audit.record("return_from_leave", "leaves", leave.id, {"returned_on": on.isoformat()})
    return leave


# --- beds out of service, reservations ------------------------------------------------


def set_out_of_service(bed: Bed, on: date, reason: str, user: User | None = None) -> BedOutage:
    """Take a bed out of service from `on`. Refused (BedOccupied) while anyone holds it
    on or after that day; checked under the bed's row lock, which admissions take too."""
    check_own_facility(user, bed.facility_id)
    _check_day(on, "date")
    _claim_bed(bed, user, in_service=False)
    if _overlapping(Stay.bed_id, bed.id, on, None) is not None:
        raise BedOccupied(_l("床位 %(code)s 有人入住，不能停用", code=bed.code))
    result = db.session.execute(
        sa.update(Bed).where(Bed.id == bed.id, Bed.out_of_service.is_(False))
        .values(out_of_service=True, out_of_service_reason=(reason or "")[:200])
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise BedOutOfService(_l("床位 %(code)s 已停用", code=bed.code))
    audit.record("update", "beds", bed.id, {"out_of_service": [False, True],
                                             "out_of_service_reason": ["", reason or ""]})
    outage = BedOutage(bed_id=bed.id, start_date=on, reason=(reason or "")[:200])
    db.session.add(outage)
    db.session.flush()
    db.session.refresh(bed)
    return outage


def back_in_service(bed: Bed, on: date, user: User | None = None) -> None:
    """Put a bed back in service from `on`. Raises Conflict when it was in service."""
    check_own_facility(user, bed.facility_id)
    _check_day(on, "date")
    result = db.session.execute(
        sa.update(Bed).where(Bed.id == bed.id, Bed.out_of_service.is_(True))
        .values(out_of_service=False, out_of_service_reason="")
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("床位未停用"), code="bed_in_service")
    audit.record("update", "beds", bed.id, {"out_of_service": [True, False]})
    outage = db.session.scalar(sa.select(BedOutage).where(BedOutage.bed_id == bed.id,
                                                          BedOutage.end_date.is_(None)))
    if outage is not None:
        outage.end_date = max(on, outage.start_date)
    db.session.flush()
    db.session.refresh(bed)


def reserve_bed(bed: Bed, person: Person, user: User | None = None) -> None:
    """Hold a vacant, in-service bed for an arranged admission (预留)."""
    check_own_facility(user, bed.facility_id)
    _check_person_active(person)
    _claim_bed(bed, user)
    if _overlapping(Stay.bed_id, bed.id, local_today(), None) is not None:
        raise BedOccupied(_l("床位 %(code)s 已有人入住", code=bed.code))
    result = db.session.execute(
        sa.update(Bed).where(Bed.id == bed.id, Bed.reserved_for_id.is_(None))
        .values(reserved_for_id=person.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise BedReserved(_l("床位 %(code)s 已预留", code=bed.code))
    audit.record("update", "beds", bed.id, {"reserved_for_id": [None, person.id]})
    db.session.refresh(bed)


def unreserve_bed(bed: Bed, user: User | None = None) -> None:
    """Release a reservation (no error if there was none)."""
    check_own_facility(user, bed.facility_id)
    bed.reserved_for_id = None
    db.session.flush()


# --- transfers between homes ------------------------------------------------------------


def request_transfer(stay: Stay, bed: Bed, on: date, user: User | None = None,
                     reason: str = "") -> TransferRequest:
    """The sending manager asks to move a resident to another home's bed; the bureau
    decides. Raises Invalid (same home: transfer directly), Conflict (one pending)."""
    check_own_facility(user, stay.facility_id)
    _require_open(stay)
    if bed.facility_id == stay.facility_id:
        raise Invalid(_l("同一机构内请直接转床"), fields={"bed_id": _l("请选择其他机构的床位")})
    _check_day(on, "date", stay.start_date)
    req = TransferRequest(stay_id=stay.id, to_bed_id=bed.id, on_date=on, reason=reason or "",
                          requested_by=user.id if user else None)
    try:
        with db.session.begin_nested():
            db.session.add(req)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("已有待审批的转院申请"), code="transfer_pending") from None
    return req


def _decide(req: TransferRequest, status: TransferStatus, user: User | None, note: str) -> None:
    from eldercare.database import utcnow

    result = db.session.execute(
        sa.update(TransferRequest)
        .where(TransferRequest.id == req.id, TransferRequest.status == TransferStatus.PENDING)
        .values(status=status, decided_by=user.id if user else None, decided_at=utcnow(),
                decision_note=(note or "")[:200])
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("该申请已处理"), code="already_decided")
    audit.record(f"transfer_{status.value}", "transfer_requests", req.id, {"note": note or ""})


def approve_transfer(req: TransferRequest, user: User | None = None, note: str = "") -> Stay:
    """The bureau approves: the request is decided once (conditional update) and the
    transfer happens in the same transaction; if it cannot, nothing is decided."""
    _decide(req, TransferStatus.APPROVED, user, note)
    stay = db.session.get(Stay, req.stay_id)
    new = transfer(stay, db.session.get(Bed, req.to_bed_id), req.on_date, None)
    db.session.refresh(req)
    req.new_stay_id = new.id
    db.session.flush()
    return new


def reject_transfer(req: TransferRequest, user: User | None = None, note: str = "") -> None:
    """The bureau rejects the request (once)."""
    _decide(req, TransferStatus.REJECTED, user, note)
    db.session.refresh(req)


# --- census, attendance, placement ---------------------------------------------------


def confirm_census(facility: Facility, day: date, user: User | None = None) -> CensusConfirmation:
    """The manager confirms the bed board for `day` (once per facility and day)."""
    check_own_facility(user, facility.id)
    _check_day(day, "day")
    residents = len(stays_on(day, facility.id))
    row = CensusConfirmation(facility_id=facility.id, day=day, user_id=user.id if user else None,
                             residents=residents)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("今日已确认"), code="census_confirmed") from None
    return row


def record_attendance(facility: Facility, person: Person, day: date,
                      arrived_at: datetime | None = None, left_at: datetime | None = None,
                      user: User | None = None) -> Attendance:
    """Record a day-care visit: arrival creates the day's row (one per person, centre and
    day), departure completes it. Raises Invalid for a facility that is not a day-care
    centre or a departure before arrival, PersonNotActive."""
    check_own_facility(user, facility.id)
    if facility.kind != FacilityKind.DAY_CARE:
        raise Invalid(_l("只有日间照料中心登记签到"),
                      fields={"facility_id": _l("不是日间照料中心")})
    _check_person_active(person)
    _check_day(day, "day")
    row = db.session.scalar(sa.select(Attendance).where(
        Attendance.person_id == person.id, Attendance.facility_id == facility.id,
        Attendance.day == day))
    if row is None:
        row = Attendance(person_id=person.id, facility_id=facility.id, day=day,
                         recorded_by=user.id if user else None)
        db.session.add(row)
    if arrived_at is not None:
        row.arrived_at = arrived_at
    if left_at is not None:
        row.left_at = left_at
    if row.arrived_at and row.left_at and row.left_at < row.arrived_at:
        raise Invalid(_l("离开时间早于到达时间"), fields={"left_at": _l("早于到达时间")})
    db.session.flush()
    return row


def place(person: Person, bed: Bed, day: date, user: User | None = None) -> Stay:
    """五保 placement: admit the applicant and record their support as centralised
    (集中供养) from `day`, in one transaction. Raises what admit raises, and Invalid for
    a person without 特困 support."""
    support = person.current_support
    if support is None:
        raise Invalid(_l("%(name)s 没有特困供养记录", name=person.name),
                      fields={"person_id": _l("不是特困人员")})
    stay = admit(person, bed, day, user)
    if support.support != Support.CENTRALIZED:
        people.start_wubao(person, support.category.value, "centralized", day)
    return stay


def get_or_404(model, ident: int):
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound(_l("未找到"))
    return obj
