"""Who may see which facilities, beds and stays: one place, deny by default.

Admins and auditors see every facility; a manager sees their own; nobody else any.
Out of scope answers NotFound (404), never revealing that the record exists.
"""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Person, Role, User

from .models import Attendance, Bed, Facility, Stay, TransferRequest

SEE_ALL = (Role.ADMIN, Role.AUDITOR)


def facility_clause(user: User, column) -> sa.ColumnElement[bool]:
    if user.role in SEE_ALL:
        return sa.true()
    if user.role == Role.MANAGER and user.facility_id is not None:
        return column == user.facility_id
    return sa.false()


def facilities(user: User) -> sa.Select:
    return sa.select(Facility).where(facility_clause(user, Facility.id))


def get_facility(user: User, facility_id: int) -> Facility:
    f = db.session.scalar(facilities(user).where(Facility.id == facility_id))
    if f is None:
        raise NotFound("未找到该机构")
    return f


def get_bed(user: User, bed_id: int) -> Bed:
    bed = db.session.scalar(sa.select(Bed).where(Bed.id == bed_id,
                                                 facility_clause(user, Bed.facility_id)))
    if bed is None:
        raise NotFound("未找到该床位")
    return bed


def get_stay(user: User, stay_id: int) -> Stay:
    stay = db.session.scalar(sa.select(Stay).where(Stay.id == stay_id,
                                                   facility_clause(user, Stay.facility_id)))
    if stay is None:
        raise NotFound("未找到该入住记录")
    return stay


def get_transfer(user: User, request_id: int) -> TransferRequest:
    req = db.session.scalar(
        sa.select(TransferRequest).join(Stay, Stay.id == TransferRequest.stay_id)
        .where(TransferRequest.id == request_id, facility_clause(user, Stay.facility_id)))
    if req is None:
        raise NotFound("未找到该申请")
    return req


def bed_any(bed_id: int) -> Bed:
    """A bed by id regardless of scope: for admissions, where a manager naming another
    home's bed is told 403 (API.md), not 404."""
    bed = db.session.get(Bed, bed_id)
    if bed is None:
        raise NotFound("未找到该床位")
    return bed


def person_any(person_id: int) -> Person:
    """A person to be admitted: not yet in a manager's scope, so looked up directly."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound("未找到该人员")
    return person


def person_scope(user: User):
    """A manager sees the people who have (or had) a stay in their home, and the
    day-care visitors of their centre."""
    if user.role != Role.MANAGER or user.facility_id is None:
        return None
    return sa.or_(
        Person.id.in_(sa.select(Stay.person_id).where(Stay.facility_id == user.facility_id)),
        Person.id.in_(sa.select(Attendance.person_id)
                      .where(Attendance.facility_id == user.facility_id)),
    )
