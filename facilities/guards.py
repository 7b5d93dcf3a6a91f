"""The checks and locks every bed operation starts with.

Concurrency (ENGINEERING.md): an operation on a person's stays first locks the person's
row (lock_person: SELECT ... FOR UPDATE on PostgreSQL; SQLite writers already hold the
database lock from BEGIN IMMEDIATE), then *claims* the bed with a conditional update that
must touch exactly one row (claim_bed: in service, and in the acting manager's own home),
which locks the bed row until commit. Only then are back-dated overlaps checked
(overlapping), so the check sees every committed stay. The partial unique indexes on open
stays are the last word. Locks are always taken person first, then bed, so that two
operations cannot deadlock.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.database import rowcount
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, Role, User
from eldercare.timeutil import local_today

from .errors import (
    BadDate,
    BedOutOfService,
    FacilityClosed,
    NotOwnFacility,
    PersonNotActive,
    StayNotOpen,
)
from .models import Bed, Facility, Stay


def is_manager(user: User | None) -> bool:
    return user is not None and user.role == Role.MANAGER


def check_own_facility(user: User | None, facility_id: int) -> None:
    """Raise NotOwnFacility (403) when a manager acts outside their own home."""
    if user is not None and is_manager(user) and user.facility_id != facility_id:
        raise NotOwnFacility(_l("只能管理本机构的床位"))


def claim_bed(bed: Bed, user: User | None, *, in_service: bool = True) -> None:
    """Lock the bed row by a conditional update that must touch exactly one row: the bed
    is in service (unless `in_service` is False) and, for a manager, in their own home.
    Raises BedOutOfService or NotOwnFacility otherwise, FacilityClosed in a closed home."""
    hold_facility_open(bed.facility_id)
    conds = [Bed.id == bed.id]
    if in_service:
        conds.append(Bed.out_of_service.is_(False))
    if user is not None and is_manager(user):
        conds.append(
            Bed.facility_id
            == sa.select(User.facility_id)
            .where(User.id == user.id, User.role == Role.MANAGER)
            .scalar_subquery()
        )
    result = db.session.execute(
        sa.update(Bed)
        .where(*conds)
        .values(version=Bed.version + 1)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        db.session.refresh(bed)
        check_own_facility(user, bed.facility_id)
        raise BedOutOfService(
            _l("床位 %(code)s 已停用", code=bed.code), fields={"bed_id": _l("床位已停用")}
        )


def hold_facility_open(facility_id: int) -> None:
    """Share-lock the facility's row (FOR SHARE on PostgreSQL; SQLite writers hold the
    database lock) and refuse a closed facility. A closure takes the row FOR UPDATE
    (setup.close_facility), so it waits for every admission or reservation under way
    and then sees it, or the admission waits for the closure and is refused."""
    closed_on = db.session.execute(
        sa.select(Facility.closed_on).where(Facility.id == facility_id).with_for_update(read=True)
    ).scalar_one_or_none()
    if closed_on is not None:
        raise FacilityClosed(
            _l("该机构已于 %(d)s 关闭", d=closed_on.isoformat()),
            fields={"bed_id": _l("机构已关闭")},
        )


def lock_person(person: Person) -> None:
    """Serialise everything done to one person's stays (PostgreSQL row lock; on SQLite
    the write transaction already holds the database lock)."""
    db.session.execute(sa.select(Person.id).where(Person.id == person.id).with_for_update())


def overlapping(column, value, start: date, end: date | None, exclude=()) -> Stay | None:
    """A stay on `column == value` that overlaps [start, end) (end None: open)."""
    stmt = sa.select(Stay).where(
        column == value, sa.or_(Stay.end_date.is_(None), Stay.end_date > start)
    )
    if end is not None:
        stmt = stmt.where(Stay.start_date < end)
    if exclude:
        stmt = stmt.where(Stay.id.not_in(exclude))
    return db.session.scalars(stmt.order_by(Stay.start_date).limit(1)).first()


def check_day(day: date, field: str = "date", earliest: date | None = None) -> None:
    if day > local_today():
        raise BadDate(_l("日期不能晚于今天"), fields={field: _l("不能晚于今天")})
    if earliest is not None and day < earliest:
        raise BadDate(
            _l("日期早于允许的最早日期"),
            fields={field: _l("不能早于 %(earliest)s", earliest=earliest.isoformat())},
        )


def check_person_active(person: Person) -> None:
    if person.status != PersonStatus.ACTIVE:
        word = "已去世" if person.status == PersonStatus.DECEASED else "已迁出"
        raise PersonNotActive(_l("%(name)s%(word)s，不能办理入住", name=person.name, word=word))


def require_open(stay: Stay) -> None:
    if stay.end_date is not None:
        raise StayNotOpen(
            _l(
                "%(name)s 的这次入住已于 %(end_date)s 结束",
                name=stay.person.name,
                end_date=stay.end_date.isoformat(),
            )
        )
