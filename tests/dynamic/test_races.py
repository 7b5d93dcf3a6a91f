"""Two clerks decide the same proposals at the same moment, through two gunicorn servers
over one database: each proposal is decided exactly once, the others are told 409."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from dynamic.models import Proposal, Termination
from eldercare.extensions import db
from tests import factories as f

from .helpers import csv_bytes, days_ago, tekun, upload

pytestmark = pytest.mark.race
N = 12


def _call(base: str, path: str, body: dict | None, token: str) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(
        "POST",
        path,
        body=json.dumps(body) if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


@pytest.mark.parametrize("round_", range(2))
def test_one_proposal_decided_at_once_by_many_is_decided_once(client, live_servers, round_):
    admin = f.user("admin")
    h = f.headers(admin)
    p = tekun("王德福")
    upload(client, h, "death", csv_bytes([[p.id_number, "王德福", days_ago(9).isoformat()]]))
    pid = db.session.scalar(sa.select(Proposal.id))
    token = h["Authorization"].split()[1]
    db.session.commit()  # hold no SQLite lock while the servers work
    barrier = threading.Barrier(N)

    def one(i: int) -> int:
        barrier.wait()
        action, body = ("accept", None) if i % 2 == 0 else ("reject", {"reason": "重复"})
        return _call(live_servers[i % 2].url, f"/api/v1/proposals/{pid}/{action}", body, token)

    with ThreadPoolExecutor(N) as pool:
        statuses = sorted(pool.map(one, range(N)))
    assert statuses == [200] + [409] * (N - 1), statuses
    db.session.expire_all()
    decided = db.session.get(Proposal, pid)
    terminations = db.session.scalar(sa.select(sa.func.count(Termination.id)))
    assert terminations == (1 if decided.status == "accepted" else 0)
