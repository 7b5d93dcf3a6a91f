"""Who may see which facilities, beds and stays: one place, deny by default.

Admins and auditors see every facility; a manager sees their own; nobody else any.
Out of scope answers NotFound (404), never revealing that the record exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import scoping as core_scoping
from eldercare.errors import Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person, Role, User
from eldercare.people import services as people

from .errors import BeforeBirth, PersonAlreadyInBed, PersonNotActive
from .models import Attendance, Bed, Facility, Stay, TransferRequest

SEE_ALL = (Role.ADMIN, Role.AUDITOR)
NOT_FOUND = "未找到该人员"


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
        raise NotFound(_l("未找到该机构"))
    return f


def get_bed(user: User, bed_id: int) -> Bed:
    bed = db.session.scalar(
        sa.select(Bed).where(Bed.id == bed_id, facility_clause(user, Bed.facility_id))
    )
    if bed is None:
        raise NotFound(_l("未找到该床位"))
    return bed


def get_stay(user: User, stay_id: int) -> Stay:
    stay = db.session.scalar(
        sa.select(Stay).where(Stay.id == stay_id, facility_clause(user, Stay.facility_id))
    )
    if stay is None:
        raise NotFound(_l("未找到该入住记录"))
    return stay


def get_transfer(user: User, request_id: int) -> TransferRequest:
    req = db.session.scalar(
        sa.select(TransferRequest)
        .join(Stay, Stay.id == TransferRequest.stay_id)
        .where(TransferRequest.id == request_id, facility_clause(user, Stay.facility_id))
    )
    if req is None:
        raise NotFound(_l("未找到该申请"))
    return req


def bed_any(bed_id: int) -> Bed:
    """A bed by id regardless of scope: for admissions, where a manager naming another
    home's bed is told 403 (API.md), not 404."""
    bed = db.session.get(Bed, bed_id)
    if bed is None:
        raise NotFound(_l("未找到该床位"))
    return bed


def person_any(person_id: int) -> Person:
    """A person by id regardless of scope: for the bureau's own writes only."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound(NOT_FOUND)
    return person


@dataclass(frozen=True)
class Named:
    """The person a write names, and whether the writer could read them before it
    (`known`): a refusal about someone not known says no more than "not found"."""

    person: Person
    known: bool


def _sees(user: User, person_id: int) -> bool:
    return (
        db.session.scalar(
            core_scoping.people(user).with_only_columns(Person.id).where(Person.id == person_id)
        )
        is not None
    )


def _placed_by_bureau(person_id: int, bed: Bed | None) -> bool:
    """On the bureau's 特困 waiting list, or `bed` is held for them."""
    from .queries import waiting_list

    if bed is not None and bed.reserved_for_id == person_id:
        return True
    listed = waiting_list().with_only_columns(Person.id).where(Person.id == person_id).limit(1)
    return db.session.scalar(listed) is not None


def person_named(
    user: User,
    person_id: int | None = None,
    id_number: str | None = None,
    *,
    placement: bool = False,
    bed: Bed | None = None,
) -> Named:
    """The person a write (admission, attendance, reservation) names, by exactly one of
    `person_id` or the full `id_number`.

    The bureau names anyone. Anyone else names a person outside their scope only by the
    full ID number (typed from the card: proof they hold it) or, where `placement`,
    through a bureau placement (the 特困 waiting list, or `bed` held for them); a bare
    id outside that is NotFound, so a write never widens what its writer may read.
    Raises Invalid for a malformed number or both or neither given, NotFound for nobody
    (or nobody this user may name)."""
    if (person_id is None) == (not id_number):
        raise Invalid(
            _l("请给出人员编号或身份证号（二者之一）"),
            fields={"id_number": _l("填写身份证号（或人员编号）")},
        )
    if id_number:
        number = people.parse_id(id_number).number
        person = people.find_by_id_number(number)
        if person is None:
            raise NotFound(NOT_FOUND)
        return Named(person, user.role in SEE_ALL or _sees(user, person.id))
    assert person_id is not None  # nosec B101  # exactly one of the two, checked above
    if user.role in SEE_ALL:
        return Named(person_any(person_id), True)
    if _sees(user, person_id):
        return Named(db.session.get_one(Person, person_id), True)
    if placement and _placed_by_bureau(person_id, bed):
        return Named(db.session.get_one(Person, person_id), False)
    raise NotFound(NOT_FOUND)


# What a refused write tells about its person: whether they died or moved, lie in a bed
# elsewhere, or when they were born. Said only to a writer who could read them anyway.
PERSONAL_REFUSALS = (PersonNotActive, PersonAlreadyInBed, BeforeBirth)


@contextmanager
def discreet(named: Named) -> Iterator[None]:
    """Around a write that names `named`: a refusal about a person the writer could not
    read before becomes NotFound, and says nothing more."""
    if named.known:
        yield
        return
    try:
        yield
    except PERSONAL_REFUSALS:
        raise NotFound(NOT_FOUND) from None


def person_scope(user: User):
    """A manager sees the people who have (or had) a stay in their home, and the
    day-care visitors of their centre."""
    if user.role != Role.MANAGER or user.facility_id is None:
        return None
    return sa.or_(
        Person.id.in_(sa.select(Stay.person_id).where(Stay.facility_id == user.facility_id)),
        Person.id.in_(
            sa.select(Attendance.person_id).where(Attendance.facility_id == user.facility_id)
        ),
    )
