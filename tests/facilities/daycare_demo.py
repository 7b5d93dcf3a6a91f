"""Issue 17.6's checks of the demo district, run by test_demo.py after its one load (a
second load would double the suite's slowest test): each of the 20 centres has its
manager, scoped to it, and a year of weekday attendance by a stable group of regulars;
the overview's figures are those of the rows."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.timeutil import Month, local_today
from facilities.models import Attendance, Facility, FacilityKind
from tests import factories


def check_demo_day_care(client, logins: str) -> None:
    centres = set(
        db.session.scalars(sa.select(Facility.id).where(Facility.kind == FacilityKind.DAY_CARE))
    )
    managers = db.session.execute(
        sa.select(User.username, User.facility_id, User.role).where(
            User.username.like("dc\\_%", escape="\\")
        )
    ).all()
    assert len(centres) == 20 and {fid for _u, fid, _r in managers} == centres
    assert {r.value for _u, _f, r in managers} == {"manager"} and len(managers) == 20
    assert "dc_<township in pinyin>" in logins
    assert all(u in logins for u, _f, _r in managers)

    rows = db.session.execute(
        sa.select(Attendance.facility_id, Attendance.person_id, Attendance.day)
    ).all()
    assert all(day.weekday() < 5 for _f, _p, day in rows)
    by_centre: dict[int, list] = defaultdict(list)
    for fid, pid, day in rows:
        by_centre[fid].append((pid, day))
    today = local_today()
    for fid in centres:
        seen = by_centre[fid]
        months = {Month.of(day) for _p, day in seen}
        assert len(months) >= 12, fid  # a year behind today
        regulars = {pid for pid, _d in seen}
        days = {day for _p, day in seen}
        assert 10 <= len(regulars) <= 40, (fid, len(regulars))  # a stable group
        assert len(seen) / len(days) >= 6  # most of them come on a given day
    gone = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Attendance)
        .join(Person, Person.id == Attendance.person_id)
        .where(sa.or_(Person.death_date <= Attendance.day, Person.moved_date <= Attendance.day))
    )
    assert gone == 0

    # the overview and a centre manager's own figures recount to the rows
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    username, fid, _r = managers[0]
    manager = db.session.scalar(sa.select(User).where(User.username == username))
    for month in (Month.of(today), Month.of(today).previous().previous()):
        mine = [pid for pid, day in by_centre[fid] if day in month]
        every = [pid for f, pid, day in rows if day in month]
        o = client.get(
            f"/api/v1/stats/overview?date={month.last.isoformat()}"
            if month.last < today
            else "/api/v1/stats/overview",
            headers=factories.headers(admin),
        ).json
        assert o["day_care"]["attendance_days"] == len(every) > 0
        assert o["day_care"]["elders"] == len(set(every))
        own = client.get(
            f"/api/v1/facilities/day-care?date={month.first.isoformat()}",
            headers=factories.headers(manager),
        ).json
        assert [(c["facility_id"], c["attendance_days"], c["elders"]) for c in own["centres"]] == [
            (fid, len(mine), len(set(mine)))
        ]
