"""Issue 17.6 under real concurrency: the same day-care register saved many times at the
same moment (two phones, a retry), through two servers of three workers over the one
test database, counts each elder once; so does a one-at-a-time arrival racing it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities import daycare_register
from facilities.models import Attendance
from tests import factories

from .conftest import make_home
from .test_races import _fire, _token

pytestmark = pytest.mark.race
N = 12


def _centre_with_regulars(n: int = 5):
    centre, _beds = make_home("魏城镇老年人日间照料中心", beds=1, kind="day_care")
    people = [factories.person(f"老人{i}") for i in range(n)]
    daycare_register.save_register(centre, local_today() - timedelta(days=7), people)
    db.session.commit()
    return centre, people


def _rows(fid: int, day) -> list[int]:
    db.session.commit()  # a fresh snapshot after the servers' commits
    return sorted(
        db.session.scalars(
            sa.select(Attendance.person_id).where(
                Attendance.facility_id == fid, Attendance.day == day
            )
        )
    )


@pytest.mark.parametrize("round_", range(2))
def test_the_same_register_saved_at_once_counts_each_elder_once(live_servers, round_):
    centre, people = _centre_with_regulars()
    mgr = factories.user("manager", facility_id=centre.id)
    token = _token(live_servers[0], mgr)
    day = local_today() - timedelta(days=1 + round_)
    ids = [p.id for p in people[:4]]
    path = f"/api/v1/facilities/{centre.id}/attendance/{day.isoformat()}"
    results = _fire(live_servers, [("PUT", path, {"person_ids": ids}, token)] * N)
    assert [s for s, _b in results] == [200] * N, results
    assert sum(b["added"] for _s, b in results) == 4  # each made once, by one of them
    assert all(b["attendance_days"] == 4 for _s, b in results)
    assert _rows(centre.id, day) == sorted(ids)


def test_a_register_and_arrivals_at_once_never_double_count(live_servers):
    centre, people = _centre_with_regulars()
    mgr = factories.user("manager", facility_id=centre.id)
    token = _token(live_servers[0], mgr)
    today = local_today().isoformat()
    ids = [p.id for p in people]
    register = (
        "PUT",
        f"/api/v1/facilities/{centre.id}/attendance/{today}",
        {"person_ids": ids},
        token,
    )
    arrivals = [
        (
            "POST",
            f"/api/v1/facilities/{centre.id}/attendance",
            {"person_id": pid, "day": today},
            token,
        )
        for pid in ids
    ]
    results = _fire(live_servers, [register, *arrivals, register])
    assert all(s in (200, 409) for s, _b in results), results
    assert _rows(centre.id, local_today()) == sorted(ids)
