"""Admins entering the same day at once through two servers: the primary key lets one
in, the others are told 409; never a 500, never two rows. And the year's settings put at
once from many requests end as one row per code."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import CalendarDay
from tests import factories as f

pytestmark = pytest.mark.race
N = 8


def _send(base: str, method: str, path: str, body: dict, token: str) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(
        method,
        path,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def test_one_day_entered_at_once_is_entered_once(client, live_servers):
    admins = [f.user("admin"), f.user("admin")]
    tokens = [f.headers(a)["Authorization"].split()[1] for a in admins]
    db.session.commit()
    barrier = threading.Barrier(N)

    def one(i: int) -> int:
        barrier.wait()
        body = {"day": "2027-02-06", "kind": "workday", "name": "春节"}
        return _send(live_servers[i % 2].url, "POST", "/api/v1/calendar", body, tokens[i % 2])

    with ThreadPoolExecutor(N) as pool:
        statuses = sorted(pool.map(one, range(N)))
    assert statuses == [201] + [409] * (N - 1), statuses
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(CalendarDay).where(CalendarDay.day == date(2027, 2, 6))
    ).all()
    assert len(rows) == 1


def test_the_years_settings_put_at_once_keep_one_row_per_code(client, live_servers):
    from intake.models import YearValue

    admins = [f.user("admin"), f.user("admin")]
    tokens = [f.headers(a)["Authorization"].split()[1] for a in admins]
    db.session.commit()
    barrier = threading.Barrier(N)

    def one(i: int) -> int:
        barrier.wait()
        body = {"values": {"days.homecare.plan": 3 + i, "points.item": 10 + i}}
        return _send(
            live_servers[i % 2].url,
            "PUT",
            "/api/v1/homecare/year-settings?year=2030",
            body,
            tokens[i % 2],
        )

    with ThreadPoolExecutor(N) as pool:
        statuses = list(pool.map(one, range(N)))
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(YearValue.code, sa.func.count())
        .where(YearValue.year == 2030)
        .group_by(YearValue.code)
    ).all()
    assert sorted(rows) == [("days.homecare.plan", 1), ("points.item", 1)]
