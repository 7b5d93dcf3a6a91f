"""The never-rules under real concurrency: requests fired at once, through a barrier, at
two gunicorn servers of three workers each over the one test database (SQLite file or
PostgreSQL). Exactly one admission wins; the others are told 409, never 500."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities.models import Bed, Stay
from tests import factories

from .conftest import make_home

pytestmark = pytest.mark.race
N = 16
TODAY = local_today().isoformat()


def _call(
    base: str, method: str, path: str, body: dict | None = None, token: str | None = None
) -> tuple[int, dict]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data) if data else {}


def _token(server, user) -> str:
    username = user.username
    # The test's own session must not hold the SQLite write lock (writes begin with
    # BEGIN IMMEDIATE) while the servers work: end its transaction first.
    db.session.commit()
    status, body = _call(
        server.url,
        "POST",
        "/api/v1/auth/token",
        {"username": username, "password": factories.PASSWORD},
    )
    assert status == 200, body
    return body["token"]


def _fire(servers, calls: list[tuple[str, str, dict, str]]) -> list[tuple[int, dict]]:
    """Send every call at the same moment, alternating between the servers."""
    db.session.commit()
    barrier = threading.Barrier(len(calls))

    def one(i: int):
        method, path, body, token = calls[i]
        barrier.wait()
        return _call(servers[i % len(servers)].url, method, path, body, token)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, range(len(calls))))


def _statuses(results) -> list[int]:
    return sorted(status for status, _b in results)


@pytest.mark.parametrize("round_", range(3))
def test_sixteen_people_into_one_bed(live_servers, round_):
    f, beds = make_home(beds=1)
    mgr = factories.user("manager", facility_id=f.id)
    people = [factories.person(f"住户{i}").id_number for i in range(N)]
    bed_id = beds[0].id
    token = _token(live_servers[0], mgr)
    results = _fire(
        live_servers,
        [
            (
                "POST",
                "/api/v1/stays",
                {"id_number": p, "bed_id": bed_id, "start_date": TODAY},
                token,
            )
            for p in people
        ],
    )
    assert _statuses(results) == [201] + [409] * (N - 1), results
    assert {b["error"]["code"] for s, b in results if s == 409} == {"bed_occupied"}
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Stay.id))) == 1


@pytest.mark.parametrize("round_", range(3))
def test_one_person_into_sixteen_beds(live_servers, round_):
    _f, beds = make_home(beds=N)
    admin = factories.user("admin")
    person_id = factories.person("王德福").id
    bed_ids = [b.id for b in beds]
    token = _token(live_servers[1], admin)
    results = _fire(
        live_servers,
        [
            (
                "POST",
                "/api/v1/stays",
                {"person_id": person_id, "bed_id": b, "start_date": TODAY},
                token,
            )
            for b in bed_ids
        ],
    )
    assert _statuses(results) == [201] + [409] * (N - 1), results
    assert {b["error"]["code"] for s, b in results if s == 409} == {"person_in_bed"}
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Stay.id))) == 1


@pytest.mark.parametrize("round_", range(2))
def test_out_of_service_and_admissions_at_once(live_servers, round_):
    """Half the requests take the bed out of service, half admit someone: whoever wins,
    the bed never ends up both out of service and occupied."""
    f, beds = make_home(beds=1)
    mgr = factories.user("manager", facility_id=f.id)
    people = [factories.person(f"住户{i}").id_number for i in range(N // 2)]
    bed_id = beds[0].id
    token = _token(live_servers[0], mgr)
    calls = []
    for p in people:
        calls.append(
            (
                "POST",
                "/api/v1/stays",
                {"id_number": p, "bed_id": bed_id, "start_date": TODAY},
                token,
            )
        )
        calls.append(("POST", f"/api/v1/beds/{bed_id}/out-of-service", {"reason": "维修"}, token))
    results = _fire(live_servers, calls)
    assert all(s in (200, 201, 409) for s, _b in results), results
    assert sum(s in (200, 201) for s, _b in results) == 1, results
    db.session.expire_all()
    bed = db.session.get(Bed, bed_id)
    open_stays = db.session.scalar(
        sa.select(sa.func.count(Stay.id)).where(Stay.bed_id == bed.id, Stay.end_date.is_(None))
    )
    assert (bed.out_of_service, open_stays) in ((True, 0), (False, 1))


@pytest.mark.parametrize("round_", range(2))
def test_one_resident_transferred_to_many_beds_at_once(live_servers, round_):
    f, beds = make_home(beds=N // 2 + 1)
    mgr = factories.user("manager", facility_id=f.id)
    elder = factories.person("王德福")
    person_id, number = elder.id, elder.id_number
    bed_ids = [b.id for b in beds]
    token = _token(live_servers[0], mgr)
    status, stay = _call(
        live_servers[0].url,
        "POST",
        "/api/v1/stays",
        {"id_number": number, "bed_id": bed_ids[0], "start_date": TODAY},
        token,
    )
    assert status == 201, stay
    results = _fire(
        live_servers,
        [
            ("POST", f"/api/v1/stays/{stay['id']}/transfer", {"bed_id": b, "date": TODAY}, token)
            for b in bed_ids[1:]
        ],
    )
    assert _statuses(results) == [200] + [409] * (len(bed_ids) - 2), results
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Stay.id)).where(
                Stay.person_id == person_id, Stay.end_date.is_(None)
            )
        )
        == 1
    )
