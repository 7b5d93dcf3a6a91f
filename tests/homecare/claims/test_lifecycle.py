"""A claim's life before reconciliation (issue 17.5, API.md "Lifecycles"): drafts that
the provider submits, withdrawal that frees the month and its visits, supplementary
claims (补报) whose lines for visits claimed already are duplicate_line; each step
once, audited, and only by the claim's provider or the bureau."""

from __future__ import annotations

from decimal import Decimal

from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.models import AuditEntry
from homecare.claims.models import Claim, ClaimedVisit
from tests import factories as f

from .conftest import by_line, line, month_text, reconcile, upload


def _post(client, user, claim_id, step, body=None):
    return client.post(
        f"/api/v1/homecare/claims/{claim_id}/{step}", headers=f.headers(user), json=body
    )


def _generate(client, user, provider_id):
    return client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(user),
        json={"provider_id": provider_id, "month": month_text()},
    )


def test_a_withdrawn_claim_frees_its_month_and_its_visits(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    first = upload(client, month.boss, month.provider.id, [line(1, v, amount="45.00")]).json
    r = _post(client, month.boss, first["id"], "withdraw", {"reason": "金额填错"})
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    assert r.json["history"]["withdrawn"]["by"]
    again = upload(client, month.boss, month.provider.id, [line(1, v)])
    assert again.status_code == 201 and again.json["supplementary"] is False
    answer = reconcile(client, month.admin, again.json["id"]).json
    assert by_line(answer)[1]["decision"] == "approved"
    assert answer["totals"]["approved"] == "40.00"
    # the withdrawn claim is not reconciled, not withdrawn twice
    assert reconcile(client, month.admin, first["id"]).status_code == 409
    assert _post(client, month.boss, first["id"], "withdraw").status_code == 409
    entry = db.session.query(AuditEntry).filter_by(action="claim_withdrawn").one()
    assert entry.entity_id == str(first["id"]) and entry.username == "kangle"


def test_withdrawal_only_before_reconciliation(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    assert reconcile(client, month.admin, cid).status_code == 200
    for user in (month.boss, month.admin):
        r = _post(client, user, cid, "withdraw")
        assert r.status_code == 409 and r.json["error"]["code"] == "wrong_status"
    assert db.session.get(Claim, cid).status.value == "reconciled"


def test_the_bureau_withdraws_a_providers_claim_others_cannot(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    # another provider: not its claim, not even its existence
    assert _post(client, month.other_boss, cid, "withdraw").status_code == 404
    assert _post(client, month.auditor, cid, "withdraw").status_code == 403
    assert _post(client, month.worker, cid, "withdraw").status_code == 403
    db.session.expire_all()
    assert db.session.get(Claim, cid).status.value == "submitted"
    assert _post(client, month.admin, cid, "withdraw").status_code == 200


def test_a_supplementary_claim_claims_what_was_left_and_duplicates_are_rejected(client, month):
    v1 = month.visit(0, 3, 9, 65, [("clean", 1)])
    main = _generate(client, month.boss, month.provider.id).json
    assert main["supplementary"] is False and main["lines"] == 1
    v2 = month.visit(1, 20, 9, 65, [("clean", 1)])  # logged after the month's claim
    extra = _generate(client, month.boss, month.provider.id).json
    assert extra["supplementary"] is True and extra["lines"] == 1
    assert _generate(client, month.boss, month.provider.id).status_code == 409
    answer = reconcile(client, month.admin, extra["id"]).json
    assert by_line(answer)[1]["visit_id"] == v2.id
    assert by_line(answer)[1]["decision"] == "approved"
    # an uploaded supplementary claim naming both: the one claimed already is rejected
    up = upload(client, month.boss, month.provider.id, [line(1, v1), line(2, v2)]).json
    assert up["supplementary"] is True
    answer = by_line(reconcile(client, month.admin, up["id"]).json)
    assert answer[1]["decision"] == answer[2]["decision"] == "rejected"
    assert answer[1]["reasons"] == answer[2]["reasons"] == ["duplicate_line"]
    # the main claim still pays its visit, again and again
    first = reconcile(client, month.admin, main["id"]).json
    assert reconcile(client, month.admin, main["id"]).json == first
    assert by_line(first)[1]["decision"] == "approved"
    shown = client.get(f"/api/v1/homecare/claims/{extra['id']}", headers=f.headers(month.boss))
    assert shown.json["supplementary"] is True


def test_withdrawing_a_claim_lets_a_supplementary_one_have_its_visits(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    main = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    extra = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    assert by_line(reconcile(client, month.admin, extra).json)[1]["reasons"] == ["duplicate_line"]
    # the extra one cannot be withdrawn now; the main one can, and a new claim has it
    assert _post(client, month.boss, main, "withdraw").status_code == 200
    assert db.session.query(ClaimedVisit).count() == 0
    again = upload(client, month.boss, month.provider.id, [line(1, v)]).json
    assert again["supplementary"] is True  # the extra one is still the month's claim
    assert by_line(reconcile(client, month.admin, again["id"]).json)[1]["decision"] == "approved"


def test_draft_claims_are_submitted_by_their_provider(client, month):
    month.visit(0, 3, 9, 65, [("clean", 1)])
    assert run_job("draft-claims", month_text()).summary == {"drafted": 1, "lines": 1}
    draft = db.session.query(Claim).one()
    assert draft.status.value == "draft"
    # a draft is not the bureau's to reconcile or approve
    assert reconcile(client, month.admin, draft.id).status_code == 409
    assert _post(client, month.admin, draft.id, "approve").status_code == 409
    # nor another provider's to submit
    assert _post(client, month.other_boss, draft.id, "submit").status_code == 404
    assert _post(client, month.auditor, draft.id, "submit").status_code == 403
    r = _post(client, month.boss, draft.id, "submit")
    assert r.status_code == 200 and r.json["status"] == "submitted"
    assert r.json["history"]["submitted"]["by"]
    assert _post(client, month.boss, draft.id, "submit").status_code == 409
    assert reconcile(client, month.admin, draft.id).status_code == 200
    assert db.session.query(AuditEntry).filter_by(action="claim_submitted").count() == 1


def test_a_withdrawn_draft_leaves_the_month_to_a_new_claim(client, month):
    month.visit(0, 3, 9, 65, [("clean", 1)])
    run_job("draft-claims", month_text())
    draft = db.session.query(Claim).one()
    assert _post(client, month.boss, draft.id, "withdraw").status_code == 200
    r = _generate(client, month.boss, month.provider.id)
    assert r.status_code == 201 and r.json["supplementary"] is False and r.json["lines"] == 1
    statuses = sorted(c.status.value for c in db.session.query(Claim))
    assert statuses == ["submitted", "withdrawn"]


def test_reconciling_again_is_the_same_and_after_approval_409(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    first = reconcile(client, month.admin, cid).json
    assert reconcile(client, month.admin, cid).json == first
    h = f.headers(month.admin)
    assert (
        client.post(
            f"/api/v1/homecare/claims/{cid}/approve", headers=h, json={"override_reason": "测试"}
        ).status_code
        == 200
    )
    r = reconcile(client, month.admin, cid)
    assert r.status_code == 409 and r.json["error"]["code"] == "wrong_status"


def test_withdrawn_and_draft_claims_are_not_counted_as_claimed(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    _post(client, month.boss, cid, "withdraw")
    month.visit(1, 4, 9, 65, [("clean", 1)])
    run_job("draft-claims", month_text())  # the month has no live claim: a draft
    assert db.session.query(Claim).filter_by(status="draft").count() == 1
    claims = client.get("/api/v1/stats/overview", headers=f.headers(month.admin)).json["claims"]
    assert claims["claimed"] == "0.00"
    assert claims["by_status"]["withdrawn"] == 1 and claims["by_status"]["draft"] == 1
    listed = client.get(
        "/api/v1/homecare/claims?status=withdrawn", headers=f.headers(month.admin)
    ).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == cid
    assert Decimal(listed["items"][0]["totals"]["claimed"]) == Decimal("40.00")
