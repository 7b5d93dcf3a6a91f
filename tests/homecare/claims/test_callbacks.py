"""Call-backs stay secret (issue 14.5): a provider learns neither which of its visits were
drawn nor what the elders said until the outcome is recorded, and then only the outcome;
a claim is approved once its call-backs are recorded, or by an admin with a written
reason kept in the audit log."""

from __future__ import annotations

from eldercare.extensions import db
from eldercare.models import AuditEntry
from homecare.claims.models import CallbackSample, Claim
from tests import factories as f

from .conftest import claim_and_reconcile, line
from .test_pages import token

NOTE = "老人说护理员只待了十分钟"


def _sampled(client, month):
    """A reconciled claim of two visits, both drawn (fewer than the floor of three)."""
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    w = month.visit(1, 4, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, w)])["id"]
    samples = (
        db.session.query(CallbackSample)
        .filter_by(claim_id=cid)
        .order_by(CallbackSample.visit_id)
        .all()
    )
    assert [s.visit_id for s in samples] == [v.id, w.id]
    return cid, v, w, samples


def _record(client, month, sample, outcome="complaint", note=NOTE):
    r = client.post(
        f"/api/v1/homecare/callbacks/{sample.id}",
        headers=f.headers(month.admin),
        json={"outcome": outcome, "note": note},
    )
    assert r.status_code == 200, r.json
    return r


def test_a_provider_sees_no_sample_before_the_outcome_and_only_the_outcome_after(client, month):
    cid, v, w, samples = _sampled(client, month)
    boss, admin = f.headers(month.boss), f.headers(month.admin)
    url = f"/api/v1/homecare/claims/{cid}/callbacks"
    assert client.get(url, headers=boss).json["items"] == []
    listed = client.get(url, headers=admin).json  # the list shape (issue 17.10)
    assert listed["total"] == 2 and len(listed["items"]) == 2 and listed["page"] == 1

    _record(client, month, samples[0])
    seen = client.get(url, headers=boss).json["items"]
    assert [(x["visit_id"], x["outcome"]) for x in seen] == [(v.id, "complaint")]
    assert "note" not in seen[0] and "reason" not in seen[0]
    assert NOTE not in str(seen)
    bureau = client.get(url, headers=admin).json["items"]
    assert {x["visit_id"]: x["note"] for x in bureau} == {v.id: NOTE, w.id: ""}
    # nor does the provider's dashboard count the one still to be called
    figures = client.get("/api/v1/homecare/figures", headers=boss).json["callbacks"]
    assert figures["pending"] == 0 and figures["complaint"] == 1
    assert client.get("/api/v1/homecare/figures", headers=admin).json["callbacks"]["pending"] == 1


def test_the_pages_show_a_provider_only_recorded_outcomes(client, month):
    cid, v, w, samples = _sampled(client, month)
    f.login(client, month.boss)
    page = client.get(f"/homecare/claims/{cid}").text
    assert 'data-testid="callbacks"' not in page and "待回访" not in page
    for visit in (v, w):
        assert "电话回访" not in client.get(f"/homecare/claims/visits/{visit.id}").text

    _record(client, month, samples[0])
    page = client.get(f"/homecare/claims/{cid}").text
    assert 'data-testid="callbacks"' in page and "投诉" in page
    assert NOTE not in page and "待回访" not in page and "抽取" not in page
    assert f"#{w.id}</a></td>" not in page.split('data-testid="callbacks"')[1]
    shown = client.get(f"/homecare/claims/visits/{v.id}").text
    assert "电话回访" in shown and NOTE not in shown
    assert "电话回访" not in client.get(f"/homecare/claims/visits/{w.id}").text
    # the bureau reads everything
    f.login(client, month.admin)
    page = client.get(f"/homecare/claims/{cid}").text
    assert NOTE in page and "待回访" in page
    assert NOTE in client.get(f"/homecare/claims/visits/{v.id}").text


def test_approval_waits_for_the_call_backs_or_an_admins_written_reason(client, month):
    cid, _v, _w, _samples = _sampled(client, month)
    h = f.headers(month.admin)
    url = f"/api/v1/homecare/claims/{cid}/approve"
    r = client.post(url, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "callbacks_pending"
    r = client.post(url, headers=h, json={"override_reason": "  "})
    assert r.status_code == 409 and r.json["error"]["code"] == "callbacks_pending"
    assert client.post(url, headers=h, json={"override": "x"}).status_code == 422
    assert (
        client.post(
            url, headers=f.headers(month.boss), json={"override_reason": "我们自己批"}
        ).status_code
        == 403
    )
    assert db.session.get(Claim, cid).status.value == "reconciled"
    r = client.post(url, headers=h, json={"override_reason": "年底结算，回访下周补做"})
    assert r.status_code == 200 and r.json["status"] == "approved"
    entry = db.session.query(AuditEntry).filter_by(action="claim_approved_callbacks_pending").one()
    assert entry.changes["override_reason"] == "年底结算，回访下周补做"
    assert entry.changes["pending"] == 2


def test_approval_without_a_reason_once_every_call_back_is_recorded(client, month):
    cid, _v, _w, samples = _sampled(client, month)
    url = f"/api/v1/homecare/claims/{cid}/approve"
    _record(client, month, samples[0], "confirmed", "")
    assert client.post(url, headers=f.headers(month.admin)).status_code == 409
    _record(client, month, samples[1], "unreachable", "")
    r = client.post(url, headers=f.headers(month.admin))
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert (
        not db.session.query(AuditEntry)
        .filter_by(action="claim_approved_callbacks_pending")
        .count()
    )


def test_the_page_asks_for_the_reason_before_approving(client, month):
    cid, _v, _w, _samples = _sampled(client, month)
    f.login(client, month.admin)
    page = client.get(f"/homecare/claims/{cid}").text
    assert 'data-testid="callbacks-pending"' in page and 'name="override_reason"' in page
    r = client.post(f"/homecare/claims/{cid}/approve", data={"csrf_token": token(page)})
    assert r.status_code in (302, 303)
    assert db.session.get(Claim, cid).status.value == "reconciled"
    assert "电话回访未记录结果" in client.get(f"/homecare/claims/{cid}").text
    r = client.post(
        f"/homecare/claims/{cid}/approve",
        data={"csrf_token": token(page), "override_reason": "老人住院，家属确认服务属实"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, cid).status.value == "approved"
    entry = db.session.query(AuditEntry).filter_by(action="claim_approved_callbacks_pending").one()
    assert entry.changes["override_reason"] == "老人住院，家属确认服务属实"
