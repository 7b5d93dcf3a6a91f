"""Concurrent scans on real server processes (two gunicorn servers of three workers over
the one test database): the ledger never overspends and a client_id counts once."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from homecare import cards
from homecare.models import Enrolment, LedgerEntry, Scan, Visit
from tests import factories as f
from tests.conftest import DATABASE_URL

from .conftest import elder, enrol, make_provider, now, scan

N = 16


def post(url: str, body: dict, headers: dict) -> tuple[int, dict]:
    assert url.startswith("http://127.0.0.1:")
    req = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (local servers)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def fire(calls: list[tuple[str, dict, dict]]) -> list[tuple[int, dict]]:
    """All calls at once: threads wait at a barrier, then post together. The test's own
    transaction ends first: on SQLite it would hold the write lock the servers wait for."""
    db.session.commit()
    barrier = threading.Barrier(len(calls))

    def one(call):
        barrier.wait()
        return post(*call)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_concurrent_check_outs_never_overspend_the_ledger(client, live_servers, round_):
    provider = make_provider()
    e = enrol(elder(), provider)
    qr = cards.url(e)
    workers = [f.user("worker", provider_id=provider.id) for _ in range(N)]
    start = now() - timedelta(hours=3)
    for w in workers:  # several workers in one home is allowed (bathing takes two)
        assert scan(client, w, qr, "check_in", at=start).status_code == 201
    out = (start + timedelta(minutes=130)).isoformat()
    calls = [
        (
            f"{live_servers[i % 2].url}/api/v1/homecare/scans",
            {
                "qr": qr,
                "kind": "check_out",
                "at": out,
                "client_id": str(uuid.uuid4()),
                "services": [{"code": "care", "quantity": 2}],
            },  # 100.00 each, 1,600 in all
            f.headers(w),
        )
        for i, w in enumerate(workers)
    ]
    answers = fire(calls)
    assert all(code == 201 for code, _ in answers), answers
    subsidised = sum(Decimal(b["subsidised"]) for _, b in answers)
    self_paid = sum(Decimal(b["self_paid"]) for _, b in answers)
    assert subsidised == Decimal("300.00")
    assert subsidised + self_paid == Decimal("1600.00")
    db.session.expire_all()
    balance = db.session.get(Enrolment, e.id).balance
    ledger_sum = sum(
        db.session.scalars(sa.select(LedgerEntry.amount).where(LedgerEntry.enrolment_id == e.id))
    )
    assert balance == ledger_sum == Decimal("0.00")


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))
def test_the_same_client_id_fired_at_once_counts_once(client, live_servers, round_):
    provider = make_provider()
    e = enrol(elder(), provider)
    worker = f.user("worker", provider_id=provider.id)
    body = {
        "qr": cards.url(e),
        "kind": "check_in",
        "at": now().isoformat(),
        "client_id": str(uuid.uuid4()),
    }
    answers = fire(
        [
            (f"{live_servers[i % 2].url}/api/v1/homecare/scans", body, f.headers(worker))
            for i in range(N)
        ]
    )
    codes = sorted(code for code, _ in answers)
    assert codes == [200] * (N - 1) + [201], answers
    assert len({b["id"] for _, b in answers}) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Scan.id))) == 1


@pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="SQLite takes the write lock up front: the job and a check-out never overlap there",
)
def test_the_stale_visit_job_leaves_a_visit_being_checked_out_alone(app, world):
    """A visit left open 13 hours is being checked out at the moment the hourly job
    closes stale visits: the job skips it, and the check-out stands, not flagged
    no_check_out over the worker's services."""
    import threading

    from homecare import visits as hv

    v = hv.check_in(world.worker, world.enrolment, now() - timedelta(hours=13))
    db.session.commit()
    visit, _overlapped = hv._open_visit(
        world.worker, world.enrolment, now()
    )  # the check-out's read
    closed = {}

    def job():  # another process's transaction: its own app context, its own session
        with app.app_context():
            closed["n"] = hv.close_stale_visits()
            db.session.commit()

    t = threading.Thread(target=job)
    t.start()
    t.join(20)
    assert not t.is_alive() and closed["n"] == 0
    hv.check_out(visit, now(), [("care", Decimal(1))])
    db.session.commit()
    db.session.expire_all()
    v = db.session.get(Visit, v.id)
    assert v.check_out_at is not None and "no_check_out" not in (v.exceptions or [])
    assert str(v.subsidised) == "50.00"
