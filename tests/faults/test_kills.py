"""SIGKILL in the middle of the work: a roster import, a check-out scan, a claim's
reconciliation, a job run. Each is stopped at a named point inside its open
transaction (ELDERCARE_FAULT_PAUSE, eldercare/faults.py) and killed there. After the
restart nothing is half done, nothing committed before is lost, and doing the work
again completes it once. SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa

from eldercare import faults
from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.models import AuditEntry, JobRun, Person, WubaoSupport
from eldercare.models.imports import ImportJob
from eldercare.timeutil import local_today
from homecare import cards
from homecare import visits as hv
from homecare.claims.models import CallbackSample, Claim, ClaimLine
from homecare.models import Enrolment, LedgerEntry, Scan, Visit
from tests import factories as f
from tests.conftest import ROOT
from tests.eldercare.test_imports import numbers, roster_csv
from tests.homecare.claims.conftest import at, csv_bytes, line, month_text
from tests.homecare.conftest import elder, enrol, make_provider, now, scan

from .conftest import (
    csrf_of,
    kill_server,
    page_session,
    paused_server,
    reading,
    sigkill,
    wait_paused,
)

pytestmark = pytest.mark.race


@pytest.fixture(scope="module")
def server(app):
    """Two workers; in each test the first request to reach a point sleeps there to be
    killed, and gunicorn's master replaces the killed worker."""
    s = paused_server("scan-debited,reconcile-decided")
    yield s
    s.stop()


class Pending(threading.Thread):
    """A request whose answer should never come (its server is killed under it); what
    came instead, if anything, is kept for the failure message."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self.call, self.answer = (fn, args, kwargs), None
        self.start()

    def run(self):
        fn, args, kwargs = self.call
        try:
            resp = fn(*args, **kwargs)
            self.answer = f"{resp.status_code} {resp.text[:500]}"
        except requests.RequestException as exc:  # what the phone or the browser sees
            self.answer = repr(exc)


def ledger_is_whole(session, enrolment_id: int) -> Decimal:
    """The balance, after checking it equals the sum of the ledger's entries."""
    balance = session.get(Enrolment, enrolment_id).balance
    entries = session.scalars(
        sa.select(LedgerEntry.amount).where(LedgerEntry.enrolment_id == enrolment_id)
    ).all()
    assert balance == sum(entries, Decimal("0.00")), (balance, entries)
    assert balance >= 0
    return balance


# --------------------------------------------------------------------------- import


def test_server_killed_mid_import_stores_nothing_and_the_import_is_redone(server):
    """A clerk's roster upload (the page's import job) dies with the whole server while
    the new people are written. The clerk's next look, answered by another server
    process (a restarted one would say the same), finds the job failed with nothing
    stored and the registry as before; the same file then imports whole."""
    admin = f.user("admin")
    kept = f.person("王德福", phone="13800000001")  # committed before: must survive
    n = numbers(40, start=500)
    rows = [
        ["1", "王德福", kept.id_number, "男", "魏城镇", "", "", "", "", "13900000009", "二组", ""]
    ]
    rows += [
        [
            str(i + 2),
            f"新人{i}",
            n[i],
            "",
            "魏城镇",
            "",
            "老年人" if i % 2 else "",
            "分散供养" if i % 2 else "",
            "全自理",
            "",
            "",
            "",
        ]
        for i in range(40)
    ]
    content = roster_csv(rows)
    kept_id, username = kept.id, admin.username

    doomed = paused_server("import-saving", workers=1)
    browser = page_session(doomed, username)
    page = doomed.url + "/people/import"
    sent = Pending(
        browser.post,
        page,
        timeout=60,
        allow_redirects=False,
        files={"file": ("花名册.csv", content, "text/csv")},
        data={"csrf_token": csrf_of(browser, page), "confirm": "1"},
    )
    pid = wait_paused("import-saving", sent)
    with reading() as s:
        job = s.scalars(sa.select(ImportJob).order_by(ImportJob.id.desc())).first()
        assert (job.status.value, job.phase) == ("running", "saving")  # it had started
        assert f":{pid}:" in job.worker
        job_id = job.id
    kill_server(doomed)

    other = server  # another server process over the same database
    browser = page_session(other, username)
    page = other.url + "/people/import"
    got = browser.get(
        f"{other.url}/people/import/{job_id}", timeout=30, headers={"Accept": "application/json"}
    ).json()
    assert got["status"] == "failed" and not got["stored"], got
    assert "没有保存任何数据" in got["message"]
    with reading() as s:
        assert s.scalar(sa.select(sa.func.count(Person.id))) == 1
        assert s.get(Person, kept_id).phone == "13800000001"
        assert s.scalar(sa.select(sa.func.count(WubaoSupport.id))) == 0
        assert (
            s.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "import"))
            == 0
        )

    resp = browser.post(
        page,
        timeout=60,
        allow_redirects=False,
        files={"file": ("花名册.csv", content, "text/csv")},
        data={"csrf_token": csrf_of(browser, page), "confirm": "1"},
    )
    assert resp.status_code == 303, resp.text
    again = browser.get(
        other.url + resp.headers["Location"], timeout=30, headers={"Accept": "application/json"}
    ).json()
    assert again["status"] == "done" and again["stored"], again
    assert (again["report"]["created"], again["report"]["updated"]) == (40, 1)
    with reading() as s:
        assert s.scalar(sa.select(sa.func.count(Person.id))) == 41
        assert s.get(Person, kept_id).phone == "13900000009"
        assert s.scalar(sa.select(sa.func.count(WubaoSupport.id))) == 20


# --------------------------------------------------------------------------- scan


def test_worker_killed_mid_check_out_leaves_no_debit_and_the_retry_counts_once(client, server):
    """The gunicorn worker dies after debiting the elder's ledger, before committing.
    The visit is still open, the ledger untouched; the phone's retry of the same scan
    (same client_id) closes the visit and debits once."""
    provider = make_provider()
    e = enrol(elder(), provider)
    worker = f.user("worker", provider_id=provider.id)
    start = now() - timedelta(hours=2)
    assert scan(client, worker, cards.url(e), "check_in", at=start).status_code == 201
    body = {
        "qr": cards.url(e),
        "kind": "check_out",
        "at": (start + timedelta(minutes=125)).isoformat(),
        "client_id": str(uuid.uuid4()),
        "services": [{"code": "care", "quantity": 2}],
    }
    headers = f.headers(worker)
    db.session.commit()  # the token; and hold no SQLite lock while the server works

    url = server.url + "/api/v1/homecare/scans"
    sent = Pending(requests.post, url, json=body, headers=headers, timeout=60)
    sigkill(wait_paused("scan-debited", sent))  # the worker only: the master starts another
    sent.join(30)
    with reading() as s:
        visit = s.scalars(sa.select(Visit)).one()  # the check-in, committed, is kept
        assert visit.check_out_at is None and visit.status.value == "open"
        assert ledger_is_whole(s, e.id) == Decimal("300.00")
        assert (
            s.scalar(
                sa.select(sa.func.count(LedgerEntry.id)).where(LedgerEntry.kind == "visit_debit")
            )
            == 0
        )
        assert (
            s.scalar(sa.select(sa.func.count(Scan.id)).where(Scan.client_id == body["client_id"]))
            == 0
        )

    first = requests.post(url, json=body, headers=headers, timeout=60)
    repeat = requests.post(url, json=body, headers=headers, timeout=60)
    assert first.status_code == 201, first.text
    assert repeat.status_code == 200 and repeat.json()["id"] == first.json()["id"]
    assert first.json()["subsidised"] == "100.00"
    with reading() as s:
        assert ledger_is_whole(s, e.id) == Decimal("200.00")
        debits = s.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == "visit_debit")).all()
        assert [(d.visit_id, d.amount) for d in debits] == [(visit.id, Decimal("-100.00"))]


# --------------------------------------------------------------------------- reconcile


def test_worker_killed_mid_reconciliation_decides_no_line_and_the_rerun_decides_all(client, server):
    """The worker dies with every line of the claim decided but nothing committed: the
    claim is still submitted with no line decided and no call-back sample drawn; the
    clerk's second click reconciles it whole, and a third gives the same answer."""
    provider = make_provider()
    boss = f.user("provider", provider_id=provider.id)
    clerk = f.user("admin")
    worker = f.user("worker", provider_id=provider.id)
    visits = []
    for i, name in enumerate(("李秀英", "张桂兰", "刘长林")):
        v = hv.check_in(worker, enrol(elder(name), provider), at(3 + i, 9))
        hv.check_out(v, at(3 + i, 10, 5), [("clean", Decimal(1))])
        visits.append(v)
    db.session.commit()
    rows = [
        line(1, visits[0]),
        line(2, visits[1]),
        line(3, visits[2], amount="55.00"),
        line(4, visits[2]),
        line(5, None, person=visits[0].enrolment.person),
    ]
    resp = client.post(
        "/api/v1/homecare/claims",
        headers=f.headers(boss),
        content_type="multipart/form-data",
        data={
            "provider_id": str(provider.id),
            "month": month_text(),
            "file": (io.BytesIO(csv_bytes(rows)), "c.csv"),
        },
    )
    assert resp.status_code == 201, resp.json
    claim_id = resp.json["id"]
    headers = f.headers(clerk)
    db.session.commit()

    url = f"{server.url}/api/v1/homecare/claims/{claim_id}/reconcile"
    sent = Pending(requests.post, url, headers=headers, timeout=60)
    sigkill(wait_paused("reconcile-decided", sent))
    sent.join(30)
    with reading() as s:
        claim = s.get(Claim, claim_id)
        assert claim.status.value == "submitted" and claim.reconciled_at is None
        decided = s.scalar(
            sa.select(sa.func.count(ClaimLine.id)).where(
                ClaimLine.claim_id == claim_id, ClaimLine.decision.is_not(None)
            )
        )
        assert decided == 0
        assert s.scalar(sa.select(sa.func.count(CallbackSample.id))) == 0

    first = requests.post(url, headers=headers, timeout=60)
    second = requests.post(url, headers=headers, timeout=60)
    assert first.status_code == second.status_code == 200, first.text
    assert first.json() == second.json()
    decisions = {x["line_no"]: (x["decision"], x["reasons"]) for x in first.json()["lines"]}
    assert decisions == {
        1: ("approved", []),
        2: ("approved", []),
        3: ("adjusted", ["amount_mismatch"]),
        4: ("rejected", ["duplicate_line"]),
        5: ("rejected", ["no_visit"]),
    }
    with reading() as s:
        claim = s.get(Claim, claim_id)
        assert claim.status.value == "reconciled"
        assert (claim.claimed_total, claim.approved_total) == (Decimal("215.00"), Decimal("120.00"))
        assert (
            s.scalar(
                sa.select(sa.func.count(ClaimLine.id)).where(
                    ClaimLine.claim_id == claim_id, ClaimLine.decision.is_(None)
                )
            )
            == 0
        )


# --------------------------------------------------------------------------- job


def _job(period: str, pause: bool = False) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop(faults.ENV, None)
    if pause:
        env[faults.ENV] = "job-worked"
    return subprocess.Popen(
        [sys.executable, "-m", "eldercare.cli", "jobs", "run", "subsidy-year", "--period", period],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_job_killed_mid_run_leaves_no_trace_and_the_rerun_does_it_once(client, app):
    """`eldercare jobs run subsidy-year` is killed with the new year's enrolments written
    and the old year's rest expired, uncommitted. Afterwards: no run recorded, no new
    enrolment, no expiry; run again, it does the year whole, and only once."""
    # The year that began this January, carried from last year's enrolments (a period
    # that has not begun is refused, so the job cannot be run for next year).
    from homecare import services as homecare_services

    year = local_today().year - 1
    homecare_services.seed_reference_data(year)
    provider = make_provider()
    olds = [enrol(elder(name), provider, year) for name in ("李秀英", "张桂兰", "刘长林")]
    old_ids = [e.id for e in olds]
    db.session.commit()

    killed = _job(str(year + 1), pause=True)
    try:
        pid = wait_paused("job-worked", timeout=60)
        assert pid == killed.pid
    finally:
        killed.kill()
        killed.communicate(timeout=30)
    with reading() as s:
        assert s.scalar(sa.select(sa.func.count(JobRun.id))) == 0
        assert (
            s.scalar(sa.select(sa.func.count(Enrolment.id)).where(Enrolment.year == year + 1)) == 0
        )
        assert (
            s.scalar(sa.select(sa.func.count(LedgerEntry.id)).where(LedgerEntry.kind == "expiry"))
            == 0
        )
        assert [ledger_is_whole(s, i) for i in old_ids] == [Decimal("300.00")] * 3

    rerun = _job(str(year + 1))  # the scheduler's catch-up, or a clerk, starts it again
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and ": done in" in out, (out, err)
    assert not run_job("subsidy-year", str(year + 1)).done  # and once is all
    with reading() as s:
        runs = s.scalars(sa.select(JobRun).where(JobRun.job == "subsidy-year")).all()
        assert [(r.period, r.summary["carried"]) for r in runs] == [(str(year + 1), 3)]
        new = s.scalars(sa.select(Enrolment).where(Enrolment.year == year + 1)).all()
        assert sorted(e.person_id for e in new) == sorted(
            s.get(Enrolment, i).person_id for i in old_ids
        )
        assert [ledger_is_whole(s, e.id) for e in new] == [Decimal("300.00")] * 3
        assert [ledger_is_whole(s, i) for i in old_ids] == [Decimal("0.00")] * 3
        assert (
            s.scalar(sa.select(sa.func.count(LedgerEntry.id)).where(LedgerEntry.kind == "expiry"))
            == 3
        )
