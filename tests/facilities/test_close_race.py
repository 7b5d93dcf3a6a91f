"""Closing a home while admissions and reservations come in at the same moment (issue
17.2): whoever wins, a closed home never keeps a resident or a reserved bed. The closure
locks the facility's row; admissions and reservations share-lock it (guards.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from facilities.models import Bed, Facility, Stay
from tests import factories

from .conftest import make_home
from .test_races import TODAY, _call, _fire, _token

pytestmark = pytest.mark.race
N = 12


@pytest.mark.parametrize("round_", range(3))
def test_a_closure_and_admissions_at_once(live_servers, round_):
    f, beds = make_home(beds=N)
    admin = factories.user("admin")
    people = [factories.person(f"住户{i}").id for i in range(N)]
    bed_ids = [b.id for b in beds]
    fid = f.id
    token = _token(live_servers[0], admin)
    calls = []
    for i in range(N // 2):
        calls.append(
            (
                "POST",
                "/api/v1/stays",
                {"person_id": people[i], "bed_id": bed_ids[i], "start_date": TODAY},
                token,
            )
        )
        if i % 2:
            calls.append(
                (
                    "POST",
                    f"/api/v1/beds/{bed_ids[N // 2 + i]}/reservation",
                    {"person_id": people[N // 2 + i]},
                    token,
                )
            )
        else:
            calls.append(("POST", f"/api/v1/facilities/{fid}/close", {"date": TODAY}, token))
    results = _fire(live_servers, calls)
    assert all(s in (200, 201, 409) for s, _b in results), results
    refused = {b["error"]["code"] for s, b in results if s == 409}
    assert refused <= {"facility_closed", "facility_not_empty", "facility_has_reservations"}
    db.session.expire_all()
    closed_on = db.session.scalar(sa.select(Facility.closed_on).where(Facility.id == fid))
    staying = db.session.scalar(
        sa.select(sa.func.count(Stay.id)).where(Stay.facility_id == fid, Stay.end_date.is_(None))
    )
    reserved = db.session.scalar(
        sa.select(sa.func.count(Bed.id)).where(
            Bed.facility_id == fid, Bed.reserved_for_id.is_not(None)
        )
    )
    closures = sum(1 for s, b in results if s == 200 and "closed_on" in b and b["closed_on"])
    assert closures <= 1, results
    if closed_on is not None:
        assert (staying, reserved) == (0, 0), results
    else:
        assert closures == 0 and staying == N // 2, results
    # once closed, nobody else comes in (end the test's read first: on SQLite it would
    # hold up the server's write)
    db.session.commit()
    if closed_on is not None:
        status, body = _call(
            live_servers[1].url,
            "POST",
            "/api/v1/stays",
            {"person_id": people[-1], "bed_id": bed_ids[-1], "start_date": TODAY},
            token,
        )
        assert status == 409 and body["error"]["code"] == "facility_closed", (status, body)
