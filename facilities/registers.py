"""The daily registers: a care home's confirmed bed board (census) and a day-care
centre's attendance."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.database import insert_or_raise
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import Person, User

from .guards import check_day, check_own_facility, check_person_active
from .models import Attendance, CensusConfirmation, Facility, FacilityKind
from .queries import stays_on


def confirm_census(facility: Facility, day: date, user: User | None = None) -> CensusConfirmation:
    """The manager confirms the bed board for `day` (once per facility and day)."""
    check_own_facility(user, facility.id)
    check_day(day, "day")
    residents = len(stays_on(day, facility.id))
    row = CensusConfirmation(
        facility_id=facility.id, day=day, user_id=user.id if user else None, residents=residents
    )
    insert_or_raise(row, Conflict(_l("今日已确认"), code="census_confirmed"))
    return row


def lock_day_register(facility: Facility) -> None:
    """Writers of a centre's register take the centre's row first: a day's register saved
    whole and one elder's arrival never interleave, so they can neither count an elder
    twice nor deadlock on the day's unique index (PostgreSQL: an INSERT … ON CONFLICT of
    the register against a plain INSERT of the arrival, each waiting on the other)."""
    db.session.execute(sa.select(Facility.id).where(Facility.id == facility.id).with_for_update())


def record_attendance(
    facility: Facility,
    person: Person,
    day: date,
    arrived_at: datetime | None = None,
    left_at: datetime | None = None,
    user: User | None = None,
) -> Attendance:
    """Record a day-care visit: arrival creates the day's row (one per person, centre and
    day), departure completes it. Raises Invalid for a facility that is not a day-care
    centre or a departure before arrival, PersonNotActive."""
    check_own_facility(user, facility.id)
    if facility.kind != FacilityKind.DAY_CARE:
        raise Invalid(
            _l("只有日间照料中心登记签到"), fields={"facility_id": _l("不是日间照料中心")}
        )
    check_person_active(person)
    check_day(day, "day")
    lock_day_register(facility)
    row = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.person_id == person.id,
            Attendance.facility_id == facility.id,
            Attendance.day == day,
        )
    )
    if row is None:
        row = Attendance(
            person_id=person.id,
            facility_id=facility.id,
            day=day,
            recorded_by=user.id if user else None,
        )
        db.session.add(row)
    if arrived_at is not None:
        row.arrived_at = arrived_at
    if left_at is not None:
        row.left_at = left_at
    if row.arrived_at and row.left_at and row.left_at < row.arrived_at:
        raise Invalid(_l("离开时间早于到达时间"), fields={"left_at": _l("早于到达时间")})
    db.session.flush()
    return row
