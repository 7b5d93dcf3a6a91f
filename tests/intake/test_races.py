"""Clerks racing one step through two gunicorn servers over one database: the
conditional update lets exactly one win, the others are told 409, and the step is
recorded once. And two decisions at once never take more places than the year has."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from intake.models import Application, ApplicationStep
from tests import factories as f

from .helpers import SHIMA, applicant, assessment, clerk, days_ago, receive, step

pytestmark = pytest.mark.race
N = 8


def _post(base: str, path: str, body: dict, token: str) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(
        "POST",
        path,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


@pytest.mark.parametrize("round_", range(2))
def test_two_clerks_checking_at_once_one_wins(client, live_servers, round_):
    clerks = [clerk(SHIMA), clerk(SHIMA)]
    tokens = [f.headers(c)["Authorization"].split()[1] for c in clerks]
    app = receive(client, f.headers(clerks[0]), applicant(), on=days_ago(5))
    db.session.commit()  # hold no SQLite lock while the servers work
    barrier = threading.Barrier(N)

    def one(i: int) -> int:
        barrier.wait()
        body = {"assessment": assessment(i % 6), "on": days_ago(1).isoformat()}
        return _post(
            live_servers[i % 2].url, f"/api/v1/applications/{app['id']}/check", body, tokens[i % 2]
        )

    with ThreadPoolExecutor(N) as pool:
        statuses = sorted(pool.map(one, range(N)))
    assert statuses == [200] + [409] * (N - 1), statuses
    db.session.expire_all()
    checks = db.session.scalar(
        sa.select(sa.func.count(ApplicationStep.id)).where(
            ApplicationStep.application_id == app["id"], ApplicationStep.step == "check"
        )
    )
    got = db.session.get(Application, app["id"])
    assert checks == 1 and got.status.value == "checked" and got.version == 2


def test_decisions_at_once_never_take_more_places_than_the_year_has(client, live_servers):
    admin = f.user("admin")
    h = f.headers(admin)
    client.put(
        "/api/v1/homecare/eligibility-rules",
        headers=h,
        json={"places": 2, "rules": [{"code": "age80", "label": "80+", "min_age": 80}]},
    )
    th = f.headers(clerk(SHIMA))
    ids = []
    for i in range(N):
        app = receive(client, th, applicant(f"申请人{i}", age=85), kind="homecare", on=days_ago(6))
        step(
            client,
            th,
            app["id"],
            "check",
            {"assessment": assessment(i % 6), "on": days_ago(4).isoformat()},
        )
        step(client, th, app["id"], "plan", {"lines": [{"code": "meal", "per_month": 2}]})
        ids.append(app["id"])
    token = h["Authorization"].split()[1]
    db.session.commit()
    barrier = threading.Barrier(N)

    def one(i: int) -> int:
        barrier.wait()
        return _post(
            live_servers[i % 2].url,
            f"/api/v1/applications/{ids[i]}/decide",
            {"approved": True},
            token,
        )

    with ThreadPoolExecutor(N) as pool:
        statuses = list(pool.map(one, range(N)))
    assert all(s in (200, 409, 503) for s in statuses), statuses
    db.session.expire_all()
    approved = db.session.scalar(
        sa.select(sa.func.count(Application.id)).where(Application.status == "approved")
    )
    assert approved == 2, statuses
