"""Reconciliation reads the enrolment's lifecycle (issue 17.4): a visit before a late
enrolment's `enrolled_on`, or from a withdrawal's date on, is rejected `not_enrolled`;
the visits in between are paid."""

from __future__ import annotations

from datetime import date

from eldercare.extensions import db
from homecare import services as hs
from tests import factories as f

from ..conftest import elder
from .conftest import by_line, claim_and_reconcile, claim_month, line


def decided(ans, no):
    x = by_line(ans)[no]
    return x["decision"], x["reasons"]


def test_a_late_enrolment_is_paid_from_its_enrolled_on(client, month):
    person = elder("陈桂芳")
    month.elders.append(person)
    month.enrolments.append(
        hs.enrol(person, month.provider, claim_month()[0], on=date(*claim_month(), 10))
    )
    db.session.commit()
    before = month.visit(4, 5, 9, 65, [("clean", 1)])
    after = month.visit(4, 12, 9, 65, [("clean", 1)])
    assert "not_enrolled" in before.exceptions and after.subsidised == 40
    ans = claim_and_reconcile(client, month, [line(1, before), line(2, after)])
    assert decided(ans, 1) == ("rejected", ["not_enrolled"])
    assert decided(ans, 2) == ("approved", [])


def test_no_visit_from_a_withdrawal_draws_or_is_paid(client, month):
    kept = month.visit(0, 8, 9, 65, [("clean", 1)])
    late = month.visit(0, 20, 9, 65, [("clean", 1)])
    assert late.subsidised == 40
    r = client.post(
        f"/api/v1/homecare/enrolments/{month.enrolments[0].id}/withdraw",
        headers=f.headers(month.admin),
        json={"date": date(*claim_month(), 15).isoformat(), "reason": "去世前已搬走"},
    )
    assert r.status_code == 200, r.json
    assert r.json["ledger"]["balance"] == "260.00"  # the late visit's 40.00 given back
    ans = claim_and_reconcile(client, month, [line(1, kept), line(2, late)])
    assert decided(ans, 1) == ("approved", [])
    assert decided(ans, 2) == ("rejected", ["not_enrolled"])
