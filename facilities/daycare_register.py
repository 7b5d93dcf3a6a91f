"""A day-care centre's register of a whole day (点名), saved at once (issue 17.6).

The manager ticks, among the centre's regulars, who came on a day (today or a past day,
never the future); saving makes the day's attendance exactly that set, in one
transaction: rows for the newly ticked, none for the unticked. Saving the same register
again changes nothing. The database has the last word: one attendance per person,
centre and day (uq_attendance_person_id_facility_id_day; INSERT ... ON CONFLICT DO
NOTHING). Two saves of one register at the same moment are serialised on the centre's
row (PostgreSQL: FOR UPDATE; SQLite: the write lock taken at BEGIN IMMEDIATE), and a
row that another writer (the one-at-a-time arrival) made meanwhile is kept, never
doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from eldercare import audit
from eldercare import scoping as core_scoping
from eldercare.database import is_postgres
from eldercare.errors import Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, Role, User

from .errors import PersonNotActive
from .guards import check_day, check_own_facility
from .models import Attendance, Facility, FacilityKind
from .registers import lock_day_register

#: a regular of a centre came at least once in this many days before the register's day
REGULAR_WINDOW = timedelta(days=90)
MAX_PEOPLE = 500


@dataclass(frozen=True)
class Saved:
    facility_id: int
    day: date
    present: list[int]
    added: int
    removed: int

    def as_dict(self) -> dict:
        return {
            "facility_id": self.facility_id,
            "date": self.day.isoformat(),
            "person_ids": self.present,
            "attendance_days": len(self.present),
            "added": self.added,
            "removed": self.removed,
        }


def check_day_care(facility: Facility) -> None:
    if facility.kind != FacilityKind.DAY_CARE:
        raise Invalid(
            _l("只有日间照料中心登记签到"), fields={"facility_id": _l("不是日间照料中心")}
        )


def present_on(facility_id: int, day: date) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Attendance.person_id).where(
                Attendance.facility_id == facility_id, Attendance.day == day
            )
        )
    )


def regulars(facility: Facility, day: date) -> list[Person]:
    """The people on the centre's register for `day`: those who came in the 90 days
    before it or since (a register filled in late lists today's regulars too); by name."""
    ids = sa.select(Attendance.person_id).where(
        Attendance.facility_id == facility.id, Attendance.day >= day - REGULAR_WINDOW
    )
    return list(
        db.session.scalars(
            sa.select(Person).where(Person.id.in_(ids)).order_by(Person.name, Person.id)
        )
    )


def people_named(user: User | None, person_ids: list[int]) -> list[Person]:
    """The people named, each one the writer may read (the bureau: anyone); NotFound for
    any other, without saying which exists."""
    wanted = set(person_ids)
    if not wanted:
        return []
    stmt = (
        sa.select(Person)
        if user is None or user.role in (Role.ADMIN,)
        else core_scoping.people(user)
    )
    found = list(db.session.scalars(stmt.where(Person.id.in_(wanted))))
    if len(found) != len(wanted):
        raise NotFound(_l("未找到该人员"))
    return found


def check_present_possible(person: Person, day: date) -> None:
    """Nobody attends after their death or their move away (a past day before either is
    fine)."""
    gone = [d for d in (person.death_date, person.moved_date) if d is not None]
    if any(d <= day for d in gone) or (person.status != PersonStatus.ACTIVE and not gone):
        raise PersonNotActive(
            _l("%(name)s 在 %(d)s 已不在册，不能登记签到", name=person.name, d=day.isoformat())
        )


def save_register(
    facility: Facility, day: date, people: list[Person], user: User | None = None
) -> Saved:
    """Make the day's attendance at `facility` exactly `people` (named by the caller:
    people_named, or scoping.person_named for a newcomer by ID number). Raises
    NotOwnFacility, Invalid (not a day-care centre, too many people), BadDate (a future
    day, or before the centre opened), PersonNotActive (dead or moved away by that day)."""
    check_own_facility(user, facility.id)
    check_day_care(facility)
    check_day(day, "date", earliest=facility.opened_on)
    if len({p.id for p in people}) > MAX_PEOPLE:
        raise Invalid(
            _l("一天最多登记 %(n)s 人", n=MAX_PEOPLE), fields={"person_ids": _l("人数过多")}
        )
    for p in people:
        check_present_possible(p, day)
    lock_day_register(facility)
    wanted = {p.id for p in people}
    rows = {
        a.person_id: a
        for a in db.session.scalars(
            sa.select(Attendance).where(
                Attendance.facility_id == facility.id, Attendance.day == day
            )
        )
    }
    # the new rows first, then the audit (whose chain lock follows the rows, as in the
    # one-at-a-time arrival: the other order deadlocks with it on PostgreSQL)
    added = _add(facility.id, sorted(wanted - rows.keys()), day, user)
    removed = 0
    for pid, row in rows.items():
        if pid not in wanted:
            db.session.delete(row)
            removed += 1
    db.session.flush()
    return Saved(facility.id, day, sorted(wanted), added, removed)


def _add(facility_id: int, person_ids: list[int], day: date, user: User | None) -> int:
    """Insert the rows that do not exist yet; a row that another writer (an arrival)
    made meanwhile is left as it is: the unique constraint keeps one, ON CONFLICT DO
    NOTHING skips the second. Each row made is audited as the ORM would. Returns how
    many were made."""
    if not person_ids:
        return 0
    conn = db.session.connection()
    insert = (postgresql if is_postgres(conn) else sqlite).insert
    by = user.id if user else None
    made = conn.execute(
        insert(Attendance.__table__)
        .values(
            [
                {"person_id": pid, "facility_id": facility_id, "day": day, "recorded_by": by}
                for pid in person_ids
            ]
        )
        .on_conflict_do_nothing(index_elements=["person_id", "facility_id", "day"])
        .returning(Attendance.__table__.c.id, Attendance.__table__.c.person_id)
    ).all()
    for row_id, pid in sorted(made):
        audit.record(
            "create",
            Attendance.__tablename__,
            row_id,
            {
                "id": row_id,
                "person_id": pid,
                "facility_id": facility_id,
                "day": day.isoformat(),
                "arrived_at": None,
                "left_at": None,
                "recorded_by": by,
            },
        )
    return len(made)
