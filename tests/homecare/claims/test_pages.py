"""Claims pages: the list with exports, upload through the form (errors named by row and
column), the review page (totals, exceptions grouped by reason in words, the visit one
click away, override with a reason, approve at the bottom), call-backs with the ledger
reversal, scorecards and the elder's year statement."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from eldercare.extensions import db
from eldercare.models import AuditEntry
from homecare.claims import callbacks as cb
from homecare.claims.models import CallbackSample, Claim
from homecare.models import Enrolment, LedgerEntry, Visit
from tests import factories as f

from .conftest import call_back, claim_and_reconcile, csv_bytes, line, month_text, upload


def token(page_text: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page_text).group(1)


def test_list_page_scoped_with_exports(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    upload(client, month.boss, month.provider.id, [line(1, v)])
    f.login(client, month.other_boss)
    page = client.get("/homecare/claims")
    assert page.status_code == 200 and month.provider.name not in page.text.split("<tbody>")[1]
    client.post("/logout", data={"csrf_token": token(page.text)})
    f.login(client, month.auditor)
    page = client.get("/homecare/claims")
    assert page.status_code == 200 and month_text() in page.text
    assert 'name="file"' not in page.text  # auditors read only
    r = client.get("/homecare/claims?format=csv")
    assert r.status_code == 200 and month.provider.name in r.data.decode("utf-8-sig")
    r = client.get("/homecare/claims?format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"


def test_upload_form_names_every_bad_row_and_column(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    f.login(client, month.boss)
    page = client.get("/homecare/claims")
    bad = csv_bytes([line(1, v), {**line(2, v), "amount": "abc"}])
    r = client.post(
        "/homecare/claims/upload",
        data={
            "csrf_token": token(page.text),
            "provider_id": str(month.provider.id),
            "month": month_text(),
            "file": (io.BytesIO(bad), "claim.csv"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "upload-problems" in r.text
    assert re.search(r"<td>3</td><td>amount</td>", r.text)
    assert db.session.query(Claim).count() == 0
    r = client.post(
        "/homecare/claims/upload",
        data={
            "csrf_token": token(page.text),
            "provider_id": str(month.provider.id),
            "month": month_text(),
            "file": (io.BytesIO(csv_bytes([line(1, v)])), "claim.csv"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302 and "/homecare/claims/" in r.headers["Location"]


def test_review_reconcile_override_and_approve(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    w = month.visit(1, 4, 9, 65, [("clean", 1)])
    cid = upload(
        client, month.boss, month.provider.id, [line(1, v), line(2, v), line(3, w, amount="45.00")]
    ).json["id"]
    f.login(client, month.admin)
    page = client.get(f"/homecare/claims/{cid}")
    assert page.status_code == 200 and "尚未对账" in page.text
    r = client.post(f"/homecare/claims/{cid}/reconcile", data={"csrf_token": token(page.text)})
    assert r.status_code == 302
    page = client.get(f"/homecare/claims/{cid}")
    assert "重复申报" in page.text and "金额与价目表不符" in page.text
    assert "<td>保洁（居室清洁）</td>" in page.text and "<td>clean</td>" not in page.text
    assert page.text.index("需要人工查看") < page.text.index("按申报通过的明细")
    assert f"/homecare/claims/visits/{v.id}" in page.text
    assert 'data-testid="approve"' in page.text
    assert "<script>" not in page.text and "style=" not in page.text
    visit_page = client.get(f"/homecare/claims/visits/{v.id}")
    assert visit_page.status_code == 200 and "重复申报" in visit_page.text
    r = client.post(
        f"/homecare/claims/{cid}/lines/2",
        data={
            "csrf_token": token(page.text),
            "decision": "approved",
            "amount": "",
            "reason": "同日两次保洁，已电话核实",
        },
    )
    assert r.status_code == 302
    claim = db.session.get(Claim, cid)
    db.session.refresh(claim)
    assert claim.approved_total == Decimal("120.00")
    assert db.session.query(AuditEntry).filter_by(action="claim_line_override").count() == 1
    page = client.get(f"/homecare/claims/{cid}")
    assert "同日两次保洁" in page.text
    visit_page = client.get(f"/homecare/claims/visits/{v.id}").text
    assert "人工：同日两次保洁" in visit_page  # the visit says who changed the line, and why
    assert "-¥40.00" in visit_page and "¥-" not in visit_page  # its debit, sign first
    call_back(client, month, cid)
    r = client.post(f"/homecare/claims/{cid}/approve", data={"csrf_token": token(page.text)})
    assert r.status_code == 302
    page = client.get(f"/homecare/claims/{cid}")
    assert "已审批" in page.text and 'data-testid="pay"' in page.text
    client.post(f"/homecare/claims/{cid}/pay", data={"csrf_token": token(page.text)})
    db.session.refresh(claim)
    assert claim.status.value == "paid" and claim.paid_by_id == month.admin.id


def test_pages_refuse_roles_that_may_not(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    f.login(client, month.boss)
    page = client.get(f"/homecare/claims/{cid}")
    assert page.status_code == 200 and 'data-testid="reconcile"' not in page.text
    r = client.post(f"/homecare/claims/{cid}/reconcile", data={"csrf_token": token(page.text)})
    assert r.status_code == 403
    assert client.get("/homecare/callbacks").status_code == 403
    client.post("/logout", data={"csrf_token": token(page.text)})
    f.login(client, month.other_boss)
    assert client.get(f"/homecare/claims/{cid}").status_code == 404
    assert client.get(f"/homecare/claims/visits/{v.id}").status_code == 404


def test_callback_sample_is_seeded_risk_weighted_and_stable(client, month):
    vs = [month.visit(i % 4, 2 + i // 4, 8 + (i % 4) * 2, 65, [("meal", 1)]) for i in range(16)]
    ans = claim_and_reconcile(
        client, month, [line(n + 1, v, code="meal", amount="30.00") for n, v in enumerate(vs)]
    )
    first = sorted(s.visit_id for s in cb.samples(db.session.get(Claim, ans["id"])))
    assert len(first) == cb.MIN_PER_CLAIM  # 5% of 16 is less than the floor
    client.post(f"/api/v1/homecare/claims/{ans['id']}/reconcile", headers=f.headers(month.admin))
    again = sorted(s.visit_id for s in cb.samples(db.session.get(Claim, ans["id"])))
    assert again == first
    # more not-delivered findings raise the provider's rate
    base = cb.provider_rate(month.provider.id)
    s = cb.samples(db.session.get(Claim, ans["id"]))[0]
    cb.record_outcome(s, "not_delivered", "老人说没人来过", month.admin)
    db.session.commit()
    assert cb.provider_rate(month.provider.id) > base
    assert cb.provider_rate(month.provider.id, exception_share=0.5) > cb.provider_rate(
        month.provider.id
    )


def test_not_delivered_reverses_the_ledger_and_rejects_the_line(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v)])
    sample = db.session.query(CallbackSample).filter_by(visit_id=v.id).one()
    e = db.session.get(Enrolment, v.enrolment_id)
    db.session.refresh(e)
    assert e.balance == Decimal("260.00")
    f.login(client, month.admin)
    page = client.get("/homecare/callbacks")
    assert page.status_code == 200 and f"#{v.id}" in page.text
    r = client.post(
        f"/homecare/callbacks/{sample.id}",
        data={
            "csrf_token": token(page.text),
            "outcome": "not_delivered",
            "note": "老人说当天无人上门",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Enrolment, e.id).balance == Decimal("300.00")
    rev = db.session.query(LedgerEntry).filter_by(visit_id=v.id, kind="reversal").one()
    assert rev.amount == Decimal("40.00")
    assert "not_delivered" in db.session.get(Visit, v.id).exceptions
    claim = db.session.get(Claim, ans["id"])
    assert claim.approved_total == Decimal("0.00")
    # twice is refused, and the ledger is not credited again
    r = client.post(
        f"/api/v1/homecare/callbacks/{sample.id}",
        headers=f.headers(month.admin),
        json={"outcome": "not_delivered"},
    )
    assert r.status_code == 409
    assert db.session.get(Enrolment, e.id).balance == Decimal("300.00")
    card = client.get(
        f"/api/v1/homecare/providers/{month.provider.id}/scorecard", headers=f.headers(month.admin)
    ).json
    row = next(m for m in card["months"] if m["month"] == month_text())
    assert row["not_delivered"] == 1 and row["confirmation_rate"] == "0.000"
    statement = client.get(f"/homecare/enrolments/{e.id}/year-statement")
    assert statement.status_code == 200 and "补贴已退回" in statement.text
    assert "¥300.00" in statement.text


def test_scorecards_page(client, month):
    month.visit(0, 3, 9, 65, [("clean", 1)])
    f.login(client, month.auditor)
    r = client.get("/homecare/scorecards")
    assert r.status_code == 200 and month.provider.name in r.text and "扫码占比" in r.text
    assert client.get("/homecare/scorecards?format=xlsx").data[:2] == b"PK"


def test_year_statement_for_the_family(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1), ("meal", 1)])
    f.login(client, month.boss)
    r = client.get(f"/homecare/enrolments/{v.enrolment_id}/year-statement")
    assert r.status_code == 200 and month.elders[0].name in r.text
    assert "¥70.00" in r.text and "¥230.00" in r.text and "claims.css" in r.text
    f.login(client, month.other_boss)
    assert client.get(f"/homecare/enrolments/{v.enrolment_id}/year-statement").status_code == 404


def test_overview_and_dashboard_show_the_claims(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v)])
    call_back(client, month, ans["id"])
    client.post(f"/api/v1/homecare/claims/{ans['id']}/approve", headers=f.headers(month.admin))
    client.post(f"/api/v1/homecare/claims/{ans['id']}/pay", headers=f.headers(month.admin))
    o = client.get("/api/v1/stats/overview", headers=f.headers(month.boss)).json["claims"]
    assert o["by_status"]["paid"] == 1 and o["paid"] == "40.00" and o["claimed"] == "40.00"
    f.login(client, month.admin)
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="claims-panel"' in page.text
    assert "¥40.00" in page.text
