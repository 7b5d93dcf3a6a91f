"""A line's decision after the machine's (homecare/claims/decisions.py), called directly:
the clerk's override with its reason, its bounds, its withdrawal, and the totals and
counts that follow from the lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models.audit import AuditEntry
from homecare.claims import decisions
from homecare.claims import services as claims
from homecare.claims.models import Claim

from .conftest import claim_and_reconcile, claim_month, line, upload


@pytest.fixture
def reconciled(client, month) -> Claim:
    """Line 1 a clean 40.00 visit (approved), line 2 a 40.00 line with no visit (rejected),
    line 3 a 20.00 haircut claimed at 25.00 (adjusted to the price)."""
    v1 = month.visit(0, 3, 9, 65, [("clean", 1)])
    v2 = month.visit(1, 3, 11, 40, [("haircut", 1)])
    ans = claim_and_reconcile(
        client,
        month,
        [
            line(1, v1),
            line(2, None, person=month.elders[2], service_date=date(*claim_month(), 4)),
            line(3, v2, code="haircut", amount="25.00"),
        ],
    )
    db.session.expire_all()
    claim = db.session.get(Claim, ans["id"])
    assert claim is not None
    return claim


def totals(claim: Claim) -> tuple[str, str, str]:
    return str(claim.claimed_total), str(claim.approved_total), str(claim.rejected_total)


def by_no(claim: Claim) -> dict[int, dict]:
    return {x["line_no"]: x for x in decisions.lines(claim)}


def test_the_machines_decisions_and_totals(reconciled):
    lines = by_no(reconciled)
    assert [(lines[n]["decision"], str(lines[n]["approved"])) for n in (1, 2, 3)] == [
        ("approved", "40.00"),
        ("rejected", "0.00"),
        ("adjusted", "20.00"),
    ]
    assert not any(x["overridden"] for x in lines.values())
    assert totals(reconciled) == ("105.00", "60.00", "45.00")
    assert decisions.undecided(reconciled) == 0
    assert decisions.exception_counts(reconciled) == {"no_visit": 1, "amount_mismatch": 1}


def test_approving_a_rejected_line_pays_what_was_claimed(reconciled, admin):
    """`admin` comes in as a caller may hold it, expired by an earlier commit: reading
    its id must not flush half an override (the reason's CHECK refused it, a 500)."""
    db.session.commit()
    decisions.override(reconciled, 2, "approved", "老人确认服务已提供", admin)
    x = by_no(reconciled)[2]
    assert (x["decision"], str(x["approved"]), x["overridden"]) == ("approved", "40.00", True)
    assert totals(reconciled) == ("105.00", "100.00", "5.00")
    db.session.commit()  # the audit entries are chained and written at commit
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "claim_line_override")
    ).one()
    assert entry.changes["before"] == {"decision": "rejected", "approved": "0.00"}
    assert entry.changes["reason"] == "老人确认服务已提供"


def test_rejecting_pays_nothing_whatever_amount_is_given(reconciled, admin):
    decisions.override(reconciled, 1, "rejected", "重复申报", admin, Decimal("40.00"))
    assert str(by_no(reconciled)[1]["approved"]) == "0.00"
    assert totals(reconciled) == ("105.00", "20.00", "85.00")


@pytest.mark.parametrize("amount", ["0.00", "40.00"])
def test_an_adjustment_may_be_nothing_or_all_that_was_claimed(reconciled, admin, amount):
    decisions.override(reconciled, 1, "adjusted", "部分服务未提供", admin, Decimal(amount))
    x = by_no(reconciled)[1]
    assert (x["decision"], str(x["approved"])) == ("adjusted", amount)


@pytest.mark.parametrize("amount", [None, Decimal("40.01"), Decimal("-0.01")])
def test_an_adjustment_without_an_amount_or_beyond_the_claim_is_refused(reconciled, admin, amount):
    with pytest.raises(Invalid) as exc:
        decisions.override(reconciled, 1, "adjusted", "部分服务未提供", admin, amount)
    assert "amount" in exc.value.fields
    assert by_no(reconciled)[1]["overridden"] is False


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_needs_a_written_reason(reconciled, admin, reason):
    with pytest.raises(Invalid) as exc:
        decisions.override(reconciled, 2, "approved", reason, admin)
    assert "reason" in exc.value.fields
    assert str(by_no(reconciled)[2]["approved"]) == "0.00"


def test_an_unknown_decision_or_line_is_refused(reconciled, admin):
    with pytest.raises(Invalid) as exc:
        decisions.override(reconciled, 1, "paid", "理由", admin)
    assert "decision" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        decisions.override(reconciled, 4, "approved", "理由", admin)
    assert "line_no" in exc.value.fields


def test_auto_withdraws_the_override_back_to_the_machines_decision(reconciled, admin):
    decisions.override(reconciled, 3, "approved", "价格已协商", admin)
    assert str(by_no(reconciled)[3]["approved"]) == "25.00"
    decisions.override(reconciled, 3, "auto", "", admin)
    x = by_no(reconciled)[3]
    assert (x["decision"], str(x["approved"]), x["overridden"]) == ("adjusted", "20.00", False)
    assert totals(reconciled) == ("105.00", "60.00", "45.00")


def test_an_override_is_kept_when_the_claim_is_reconciled_again(reconciled, admin):
    decisions.override(reconciled, 2, "adjusted", "只提供了一半", admin, Decimal("15.50"))
    claims.reconcile(reconciled, admin)
    x = by_no(reconciled)[2]
    assert (x["decision"], str(x["approved"]), x["overridden"]) == ("adjusted", "15.50", True)
    assert totals(reconciled) == ("105.00", "75.50", "29.50")


def test_no_override_before_reconciling_nor_after_approval(client, month, reconciled, admin):
    r = upload(client, month.other_boss, month.other.id, [line(1, None, person=month.elders[3])])
    assert r.status_code == 201, r.json
    submitted = db.session.get(Claim, r.json["id"])
    assert decisions.undecided(submitted) == 1
    with pytest.raises(Conflict) as exc:
        decisions.override(submitted, 1, "approved", "理由", admin)
    assert exc.value.code == "wrong_status"

    claims.approve(reconciled, admin, override_reason="测试：回访免于抽查")
    with pytest.raises(Conflict) as exc:
        decisions.override(reconciled, 2, "approved", "理由", admin)
    assert exc.value.code == "wrong_status"
    assert str(by_no(reconciled)[2]["approved"]) == "0.00"
