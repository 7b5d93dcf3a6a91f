"""Concurrent clerks on real server processes: a claim is approved once, a month is
claimed once, and a call-back's reversal credits the ledger once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from eldercare.extensions import db
from homecare.claims.models import CallbackSample, Claim, Recovery
from homecare.models import Enrolment, LedgerEntry
from tests import factories as f

from ..test_races import fire
from .conftest import call_back, claim_and_reconcile, line, month_text
from .test_recoveries import Y0, _not_delivered, _paid

N = 8


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_two_clerks_approve_at_once_one_wins(client, live_servers, month, round_):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v)])["id"]
    call_back(client, month, cid)
    clerks = [f.user("admin") for _ in range(N)]
    answers = fire(
        [
            (f"{live_servers[i % 2].url}/api/v1/homecare/claims/{cid}/approve", {}, f.headers(c))
            for i, c in enumerate(clerks)
        ]
    )
    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * (N - 1), answers
    db.session.expire_all()
    assert db.session.get(Claim, cid).status.value == "approved"


@pytest.mark.race
def test_a_month_is_generated_once(client, live_servers, month):
    month.visit(0, 3, 9, 65, [("clean", 1)])
    body = {"provider_id": month.provider.id, "month": month_text()}
    answers = fire(
        [
            (
                f"{live_servers[i % 2].url}/api/v1/homecare/claims/generate",
                body,
                f.headers(month.admin),
            )
            for i in range(N)
        ]
    )
    assert sorted(code for code, _ in answers) == [201] + [409] * (N - 1), answers
    assert db.session.query(Claim).count() == 1


@pytest.mark.race
def test_not_delivered_recorded_at_once_credits_the_ledger_once(client, live_servers, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    claim_and_reconcile(client, month, [line(1, v)])
    sample = db.session.query(CallbackSample).filter_by(visit_id=v.id).one()
    answers = fire(
        [
            (
                f"{live_servers[i % 2].url}/api/v1/homecare/callbacks/{sample.id}",
                {"outcome": "not_delivered"},
                f.headers(month.admin),
            )
            for i in range(N)
        ]
    )
    assert sorted(code for code, _ in answers) == [200] + [409] * (N - 1), answers
    db.session.expire_all()
    assert db.session.get(Enrolment, v.enrolment_id).balance == Decimal("300.00")
    assert db.session.query(LedgerEntry).filter_by(visit_id=v.id, kind="reversal").count() == 1


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))
def test_not_delivered_after_payment_at_once_recovers_once(client, live_servers, month, round_):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v)])["id"]
    h = f.headers(month.admin)
    assert (
        client.post(
            f"/api/v1/homecare/claims/{cid}/approve",
            headers=h,
            json={"override_reason": "先行审批"},
        ).status_code
        == 200
    )
    assert client.post(f"/api/v1/homecare/claims/{cid}/pay", headers=h).status_code == 200
    sample = db.session.query(CallbackSample).filter_by(visit_id=v.id).one()
    clerks = [f.user("admin") for _ in range(N)]
    db.session.commit()
    answers = fire(
        [
            (
                f"{live_servers[i % 2].url}/api/v1/homecare/callbacks/{sample.id}",
                {"outcome": "not_delivered"},
                f.headers(c),
            )
            for i, c in enumerate(clerks)
        ]
    )
    assert sorted(code for code, _ in answers) == [200] + [409] * (N - 1), answers
    db.session.expire_all()
    assert db.session.query(Recovery).filter_by(visit_id=v.id).count() == 1
    assert db.session.query(Recovery).one().amount == Decimal("40.00")
    assert db.session.get(Enrolment, v.enrolment_id).balance == Decimal("300.00")
    assert db.session.query(LedgerEntry).filter_by(visit_id=v.id, kind="reversal").count() == 1


@pytest.mark.race
def test_a_waiting_recovery_is_taken_by_one_claim(client, live_servers, last_year):
    w = last_year
    v = w.visit(0, 3, 3)
    _paid(client, w, 3, [(v, 1, "40.00")])
    assert _not_delivered(client, w, v).status_code == 200
    w.visit(1, 4, 2), w.visit(1, 5, 2)
    db.session.commit()
    answers = fire(
        [
            (
                f"{live_servers[i % 2].url}/api/v1/homecare/claims/generate",
                {"provider_id": w.provider.id, "month": f"{Y0}-{4 + i % 2:02d}"},
                f.headers(w.admin),
            )
            for i in range(N)
        ]
    )
    assert sorted(code for code, _ in answers) == [201] * 2 + [409] * (N - 2), answers
    db.session.expire_all()
    rec = db.session.query(Recovery).one()
    takers = db.session.query(Claim).filter(Claim.recovered_total > 0).all()
    assert [c.id for c in takers] == [rec.taken_by_claim_id]
    assert takers[0].recovered_total == Decimal("40.00")
