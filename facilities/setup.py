"""Setting a facility up and closing it (issue 17.2): edit a facility, close it when
empty, add and edit rooms, edit beds. Adding a facility or a bed, and a bed out of service
and back, are in services.py and availability.py. Functions flush, never commit; every
ORM change is audited by the session listener, the conditional closure by audit.record.

Who: the bureau (admin) edits and closes facilities; a care-home manager sets up the
rooms and beds of their own home only (NotOwnFacility otherwise). The pages and the API
check roles; these functions check the home, so a caller cannot forget it.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import rowcount
from eldercare.errors import Conflict, Forbidden, Invalid
from eldercare.extensions import db
from eldercare.models import Region, Role, User

from .errors import FacilityClosed, FacilityNotEmpty
from .guards import check_day, check_own_facility, hold_facility_open
from .models import Bed, BedKind, Facility, Room, RoomSex, Stay


def _bureau_only(user: User | None) -> None:
    if user is not None and user.role != Role.ADMIN:
        raise Forbidden(_l("只有民政局可以修改或关闭机构"), code="bureau_only")


def _township(code: str | None) -> str | None:
    if not code:
        return None
    t = db.session.get(Region, code)
    if t is None or t.level != "township":
        raise Invalid(_l("无此乡镇（街道）"), fields={"township_code": _l("无此乡镇（街道）代码")})
    return code


def update_facility(
    facility: Facility,
    *,
    name: str | None = None,
    township_code: str | None = None,
    address: str | None = None,
    capacity: int | None = None,
    opened_on: date | None = None,
    user: User | None = None,
) -> Facility:
    """Change a facility's particulars (the bureau). None leaves a field as it is; an
    empty township clears it. Raises Invalid, Conflict (duplicate_name)."""
    _bureau_only(user)
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid(_l("名称不能为空"), fields={"name": _l("名称不能为空")})
        taken = db.session.scalar(
            sa.select(Facility.id).where(Facility.name == name, Facility.id != facility.id)
        )
        if taken:
            raise Conflict(
                _l("该机构名称已存在"), fields={"name": _l("已存在")}, code="duplicate_name"
            )
        facility.name = name
    if township_code is not None:
        facility.township_code = _township(township_code)
    if address is not None:
        facility.address = address.strip()
    if capacity is not None:
        facility.capacity = max(0, capacity)
    if opened_on is not None:
        if facility.closed_on is not None and opened_on > facility.closed_on:
            raise Invalid(_l("开办日期晚于关闭日期"), fields={"opened_on": _l("晚于关闭日期")})
        facility.opened_on = opened_on
    db.session.flush()
    return facility


def close_facility(facility: Facility, on: date, user: User | None = None) -> Facility:
    """Close a facility from `on` (today or earlier): it leaves the figures from that
    day. Refused (FacilityNotEmpty) while anyone stays on or after `on` or a bed is held
    for someone. The facility's row is locked FOR UPDATE first; admissions and
    reservations share-lock it (guards.hold_facility_open), so none can slip in between
    the check and the closure."""
    _bureau_only(user)
    check_day(on, "date", facility.opened_on)
    db.session.execute(sa.select(Facility.id).where(Facility.id == facility.id).with_for_update())
    db.session.refresh(facility)
    if facility.closed_on is not None:
        raise FacilityClosed(_l("该机构已于 %(d)s 关闭", d=facility.closed_on.isoformat()))
    staying = db.session.scalar(
        sa.select(sa.func.count(Stay.id)).where(
            Stay.facility_id == facility.id, sa.or_(Stay.end_date.is_(None), Stay.end_date > on)
        )
    )
    if staying:
        raise FacilityNotEmpty(
            _l(
                "%(name)s 仍有 %(n)s 人入住（含请假），不能关闭；请先办理离院或转院",
                name=facility.name,
                n=staying,
            )
        )
    reserved = db.session.scalar(
        sa.select(sa.func.count(Bed.id)).where(
            Bed.facility_id == facility.id, Bed.reserved_for_id.is_not(None)
        )
    )
    if reserved:
        raise FacilityNotEmpty(
            _l(
                "%(name)s 有 %(n)s 张床位已预留，不能关闭；请先取消预留",
                name=facility.name,
                n=reserved,
            ),
            code="facility_has_reservations",
        )
    result = db.session.execute(
        sa.update(Facility)
        .where(Facility.id == facility.id, Facility.closed_on.is_(None))
        .values(closed_on=on)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:  # the lock makes this unreachable; the row count says so
        raise FacilityClosed(_l("该机构已关闭"))
    audit.record("update", "facilities", facility.id, {"closed_on": [None, on.isoformat()]})
    db.session.refresh(facility)
    return facility


# --- rooms and beds ---------------------------------------------------------------


def _room_code(code: str | None) -> str:
    code = (code or "").strip()
    if not code:
        raise Invalid(_l("房间号不能为空"), fields={"code": _l("房间号不能为空")})
    return code


def _free_room_code(facility_id: int, code: str, room_id: int | None = None) -> None:
    stmt = sa.select(Room.id).where(Room.facility_id == facility_id, Room.code == code)
    if room_id is not None:
        stmt = stmt.where(Room.id != room_id)
    if db.session.scalar(stmt):
        raise Conflict(
            _l("本机构已有该房间号"), fields={"code": _l("已存在")}, code="duplicate_room_code"
        )


def add_room(facility: Facility, code: str, sex: str = "mixed", user: User | None = None) -> Room:
    """Add a room (its beds are added with add_bed). Raises NotOwnFacility,
    FacilityClosed, Conflict (duplicate_room_code)."""
    check_own_facility(user, facility.id)
    hold_facility_open(facility.id)
    code = _room_code(code)
    _free_room_code(facility.id, code)
    room = Room(facility_id=facility.id, code=code, sex=RoomSex(sex or "mixed"))
    db.session.add(room)
    db.session.flush()
    return room


def update_room(
    room: Room, *, code: str | None = None, sex: str | None = None, user: User | None = None
) -> Room:
    """Rename a room or change whom it is for. A room for one sex is refused while
    someone of the other sex lives in it."""
    check_own_facility(user, room.facility_id)
    if code is not None:
        code = _room_code(code)
        _free_room_code(room.facility_id, code, room.id)
        room.code = code
    if sex is not None and RoomSex(sex) != room.sex:
        if sex != RoomSex.MIXED and _other_sex_in(room, sex):
            raise Conflict(
                _l("房间内住有异性住户，不能改为单一性别房间"),
                fields={"sex": _l("房间内住有异性住户")},
                code="room_sex_conflict",
            )
        room.sex = RoomSex(sex)
    db.session.flush()
    return room


def _other_sex_in(room: Room, sex: str) -> bool:
    from eldercare.models import Person

    stmt = (
        sa.select(Stay.id)
        .join(Bed, Bed.id == Stay.bed_id)
        .join(Person, Person.id == Stay.person_id)
        .where(Bed.room_id == room.id, Stay.end_date.is_(None), Person.sex != sex)
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def update_bed(
    bed: Bed,
    *,
    code: str | None = None,
    kind: str | None = None,
    room_id: int | None = None,
    user: User | None = None,
) -> Bed:
    """Renumber a bed, change its kind (ordinary / nursing) or its room (of the same
    home; 0 takes it out of any room). Raises NotOwnFacility, Conflict
    (duplicate_bed_code), NotFound-like Invalid for another home's room."""
    check_own_facility(user, bed.facility_id)
    if code is not None:
        code = code.strip()
        if not code:
            raise Invalid(_l("床位号不能为空"), fields={"code": _l("床位号不能为空")})
        taken = db.session.scalar(
            sa.select(Bed.id).where(
                Bed.facility_id == bed.facility_id, Bed.code == code, Bed.id != bed.id
            )
        )
        if taken:
            raise Conflict(
                _l("本机构已有该床位号"), fields={"code": _l("已存在")}, code="duplicate_bed_code"
            )
        bed.code = code
    if kind is not None:
        bed.kind = BedKind(kind)
    if room_id is not None:
        if room_id == 0:
            bed.room_id = None
        else:
            room = db.session.get(Room, room_id)
            if room is None or room.facility_id != bed.facility_id:
                raise Invalid(_l("房间不属于本机构"), fields={"room_id": _l("房间不属于本机构")})
            bed.room_id = room.id
    db.session.flush()
    return bed
