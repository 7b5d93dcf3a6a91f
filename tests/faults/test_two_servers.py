"""Everything at once through two servers over one database: admissions, scans and the
year's job run, fired together through a barrier at the two gunicorn servers of three
workers each (the `live_servers` fixture; SQLite file or PostgreSQL).

The race tests of each feature prove one rule at a time (tests/facilities/test_races.py,
tests/homecare/test_races.py, tests/eldercare/test_jobs.py); here they share the
database's locks at the same moment, and the job touches the very ledger the check-outs
are draining. Afterwards the database is read as an auditor would: no bed given twice,
no person in two beds, no ledger overspent or out of step with its entries, no scan
counted twice, the year carried once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare import faults
from eldercare.extensions import db
from eldercare.models import JobFailure, JobRun
from eldercare.timeutil import local_today
from facilities.models import Stay
from homecare import cards, services
from homecare.models import Enrolment, LedgerEntry, Scan, Visit
from tests import factories as f
from tests.conftest import LiveServer
from tests.facilities.conftest import make_home
from tests.homecare.conftest import elder, enrol, make_provider, now, scan, visit
from tests.homecare.test_races import post

from .conftest import csrf_of, page_session, reading

pytestmark = pytest.mark.race
YEAR = local_today().year
CLERKS = 6  # requests per contested bed, per contested person, per drained ledger


def fire_all(calls) -> list:
    """Run every call (a function of no arguments) at the same moment."""
    db.session.commit()  # hold no SQLite lock while the servers work
    barrier = threading.Barrier(len(calls))

    def one(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def json_call(server, path: str, body: dict, headers: dict):
    return lambda: post(f"{server.url}{path}", body, headers)


def job_call(browser, url: str, csrf: str):
    def run():
        resp = browser.post(
            url,
            data={"csrf_token": csrf, "period": str(YEAR + 1)},
            allow_redirects=False,
            timeout=60,
        )
        return resp.status_code, {}

    return run


@pytest.fixture(scope="module")
def new_years_night(app):
    """Two servers whose job clock reads five past midnight of next year (jobs refuse a
    period not yet begun; eldercare/faults.clock), while scans keep the real time: the year
    job and the last check-outs of the old year meet as they would on that night."""
    servers = [
        LiveServer(env={faults.CLOCK_ENV: f"{YEAR + 1}-01-01T00:05:00+08:00"}) for _ in range(2)
    ]
    yield servers
    for s in servers:
        s.stop()


@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_admissions_scans_and_the_year_job_at_once_through_both_servers(
    client, new_years_night, round_
):
    live_servers = new_years_night
    # Beds: CLERKS people for one bed; one person for three beds, CLERKS times.
    _home, beds = make_home(beds=4)
    clerks = [f.headers(f.user("admin")) for _ in range(2)]
    hopefuls = [f.person(f"住户{i}").id for i in range(CLERKS)]
    wanderer = f.person("王德福").id
    # Home care: one elder with 50.00 left for CLERKS check-outs of 50.00 each; one
    # check-out and one check-in each sent four times (a phone's retries, both servers).
    services.seed_reference_data(YEAR + 1)  # next year's figures, set in December
    provider = make_provider()
    workers = [f.user("worker", provider_id=provider.id) for _ in range(CLERKS + 2)]
    drained, twice_out, twice_in = (
        enrol(elder(n), provider) for n in ("李秀英", "张桂兰", "刘长林")
    )
    start = now() - timedelta(hours=9)
    assert (
        visit(
            client, workers[0], cards.url(drained), start, 310, [{"code": "care", "quantity": 5}]
        ).json["subsidised"]
        == "250.00"
    )
    start = now() - timedelta(hours=2)
    for w in workers[:CLERKS]:
        assert scan(client, w, cards.url(drained), "check_in", at=start).status_code == 201
    assert (
        scan(client, workers[CLERKS], cards.url(twice_out), "check_in", at=start).status_code == 201
    )
    out = (start + timedelta(minutes=65)).isoformat()
    care = [{"code": "care", "quantity": 1}]
    repeat_out = {
        "qr": cards.url(twice_out),
        "kind": "check_out",
        "at": out,
        "client_id": str(uuid.uuid4()),
        "services": care,
    }
    repeat_in = {
        "qr": cards.url(twice_in),
        "kind": "check_in",
        "at": start.isoformat(),
        "client_id": str(uuid.uuid4()),
    }
    scanners = [f.headers(w) for w in workers]
    username = f.user("admin").username
    qr = cards.url(drained)
    bed_ids = [bed.id for bed in beds]
    ids = {"drained": drained.id, "twice_out": twice_out.id, "twice_in": twice_in.id}
    db.session.commit()  # from here on the test holds no SQLite lock until it reads
    browsers = [page_session(server, username) for server in live_servers]
    csrfs = [csrf_of(br, s.url + "/jobs") for br, s in zip(browsers, live_servers, strict=True)]

    calls, kinds = [], []

    def add(kind: str, call) -> None:
        kinds.append(kind)
        calls.append(call)

    today = str(local_today())
    for i in range(CLERKS):
        server = live_servers[i % 2]
        add(
            "bed",
            json_call(
                server,
                "/api/v1/stays",
                {"person_id": hopefuls[i], "bed_id": bed_ids[0], "start_date": today},
                clerks[i % 2],
            ),
        )
        add(
            "person",
            json_call(
                server,
                "/api/v1/stays",
                {"person_id": wanderer, "bed_id": bed_ids[1 + i % 3], "start_date": today},
                clerks[(i + 1) % 2],
            ),
        )
        add(
            "drain",
            json_call(
                server,
                "/api/v1/homecare/scans",
                {
                    "qr": qr,
                    "kind": "check_out",
                    "at": out,
                    "client_id": str(uuid.uuid4()),
                    "services": care,
                },
                scanners[i],
            ),
        )
    for i in range(4):
        server = live_servers[i % 2]
        add("twice_out", json_call(server, "/api/v1/homecare/scans", repeat_out, scanners[CLERKS]))
        add(
            "twice_in", json_call(server, "/api/v1/homecare/scans", repeat_in, scanners[CLERKS + 1])
        )
        add("job", job_call(browsers[i % 2], f"{server.url}/jobs/subsidy-year/run", csrfs[i % 2]))
    answers = fire_all(calls)
    by_kind: dict[str, list] = {}
    for kind, (status, body) in zip(kinds, answers, strict=True):
        by_kind.setdefault(kind, []).append((status, body))

    def statuses(kind: str) -> list[int]:
        return sorted(s for s, _b in by_kind[kind])

    # What each caller was told: one winner, the rest a clear no; never a 500.
    assert statuses("bed") == [201] + [409] * (CLERKS - 1), by_kind["bed"]
    assert statuses("person") == [201] + [409] * (CLERKS - 1), by_kind["person"]
    assert statuses("drain") == [201] * CLERKS, by_kind["drain"]
    assert statuses("twice_out") == [200, 200, 200, 201], by_kind["twice_out"]
    assert statuses("twice_in") == [200, 200, 200, 201], by_kind["twice_in"]
    assert len({b["id"] for _s, b in by_kind["twice_out"] + by_kind["twice_in"]}) == 2
    assert statuses("job") == [302] * 4  # each page run answers with the jobs page

    # What the database holds, read as an auditor would.
    with reading() as s:
        open_stays = s.execute(
            sa.select(Stay.bed_id, Stay.person_id).where(Stay.end_date.is_(None))
        ).all()
        assert max(Counter(bed for bed, _p in open_stays).values()) == 1  # no bed twice
        assert max(Counter(p for _b, p in open_stays).values()) == 1  # no one in two beds
        assert sum(bed == bed_ids[0] for bed, _p in open_stays) == 1
        assert sum(p == wanderer for _b, p in open_stays) == 1

        runs = s.scalars(sa.select(JobRun).where(JobRun.job == "subsidy-year")).all()
        assert [(r.period, r.summary["carried"]) for r in runs] == [(str(YEAR + 1), 3)]
        assert s.scalars(sa.select(JobFailure.error)).all() == []
        new_year = s.scalars(sa.select(Enrolment).where(Enrolment.year == YEAR + 1)).all()
        assert sorted(e.person_id for e in new_year) == sorted(
            s.get(Enrolment, i).person_id for i in ids.values()
        )

        for e in s.scalars(sa.select(Enrolment)):  # every ledger whole, none overspent
            entries = s.scalars(
                sa.select(LedgerEntry.amount).where(LedgerEntry.enrolment_id == e.id)
            ).all()
            assert e.balance == sum(entries, Decimal("0.00")) >= 0, (e.id, e.balance, entries)
        assert all(e.balance == Decimal("300.00") for e in new_year)

        # The drained ledger's last 50.00: spent on the check-outs or expired, once.
        last = dict(
            s.execute(
                sa.select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount))
                .where(LedgerEntry.enrolment_id == ids["drained"], LedgerEntry.at > start)
                .group_by(LedgerEntry.kind)
            ).all()
        )
        subsidised = sum(Decimal(b["subsidised"]) for _s, b in by_kind["drain"])
        spent, expired = -Decimal(last.get("visit_debit", 0)), -Decimal(last.get("expiry", 0))
        assert spent == subsidised and spent + expired == Decimal("50.00"), last

        # Every visit's subsidy is one debit of the same amount, and no debit is loose.
        debits = Counter()
        for visit_id, amount in s.execute(
            sa.select(LedgerEntry.visit_id, LedgerEntry.amount).where(
                LedgerEntry.kind == "visit_debit"
            )
        ):
            debits[visit_id] += 1
            assert s.get(Visit, visit_id).subsidised == -amount
        assert max(debits.values()) == 1
        for v in s.scalars(sa.select(Visit).where(Visit.subsidised > 0)):
            assert debits[v.id] == 1, v.id
        assert (
            s.scalar(
                sa.select(sa.func.count(Visit.id)).where(Visit.enrolment_id == ids["twice_in"])
            )
            == 1
        )
        assert (
            s.scalar(
                sa.select(sa.func.count(Scan.id)).where(
                    Scan.client_id.in_([repeat_in["client_id"], repeat_out["client_id"]])
                )
            )
            == 2
        )
