"""Proof of presence at reconciliation (issue 14): a line whose visit carries a presence
exception carries its code among the line's reasons, with words a clerk understands, and
is held: the claim is approved only once each held line is accepted with a reason or
rejected. Both are audited, kept across reconciliations and on the statement."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from eldercare.extensions import db
from eldercare.models import AuditEntry
from homecare.claims.labels import REASON_LABELS
from homecare.claims.models import PRESENCE_REASONS, Claim, ClaimLine
from homecare.models import Visit
from tests import factories as f

from .conftest import by_line, call_back, claim_and_reconcile, line, reconcile
from .test_pages import token


def _flag(v: Visit, *codes: str) -> Visit:
    """The visit as scans or the nightly pattern job would have left it."""
    for code in codes:
        v.flag(code)
    db.session.commit()
    return v


def _resolve(client, user, cid, **body):
    return client.post(
        f"/api/v1/homecare/claims/{cid}/presence", headers=f.headers(user), json=body
    )


def _approve(client, m, cid):
    return client.post(f"/api/v1/homecare/claims/{cid}/approve", headers=f.headers(m.admin))


@pytest.mark.parametrize("code", PRESENCE_REASONS)
def test_each_presence_exception_holds_its_line_and_an_honest_one_passes(client, month, code):
    honest = month.visit(0, 3, 9, 65, [("clean", 1)])
    flagged = _flag(month.visit(1, 3, 11, 65, [("clean", 1)]), code)
    ans = claim_and_reconcile(client, month, [line(1, honest), line(2, flagged)])
    lines = by_line(ans)
    assert (lines[1]["decision"], lines[1]["reasons"], lines[1]["held"]) == ("approved", [], False)
    # the money is as claimed; the line waits for the clerk
    assert (lines[2]["decision"], lines[2]["approved"], lines[2]["reasons"], lines[2]["held"]) == (
        "approved",
        "40.00",
        [code],
        True,
    )
    assert ans["held"] == 1 and ans["totals"]["approved"] == "80.00"
    assert str(REASON_LABELS[code])  # a clerk reads it in words
    shown = client.get(f"/api/v1/homecare/claims/{ans['id']}", headers=f.headers(month.admin))
    assert shown.json["held"] == {"lines": 1, "by_exception": {code: 1}}
    assert shown.json["exceptions"] == {code: 1}


def test_a_held_line_waits_for_the_clerk_then_accepted_with_a_reason(client, month):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "no_location", "late_upload")
    w = month.visit(1, 4, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, w)])["id"]
    call_back(client, month, cid)
    r = _approve(client, month, cid)
    assert r.status_code == 409 and r.json["error"]["code"] == "held_lines"
    assert "1 条" in r.json["error"]["message"]
    # not even with a written reason: that one is for call-backs
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/approve",
        headers=f.headers(month.admin),
        json={"override_reason": "急用"},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "held_lines"

    r = _resolve(
        client,
        month.admin,
        cid,
        action="accept",
        reason="provider_proof",
        note="服务组织提交了签字单",
        line_nos=[1],
    )
    assert r.status_code == 200, r.json
    assert (r.json["resolved"], r.json["line_nos"], r.json["held"]) == (1, [1], 0)
    assert r.json["totals"]["approved"] == "80.00"
    got = client.get(f"/api/v1/homecare/claims/{cid}/lines", headers=f.headers(month.admin))
    first = got.json["items"][0]
    assert first["held"] is False and first["decision"] == "approved"
    assert first["reasons"] == ["late_upload", "no_location"]
    assert first["accepted"]["exceptions"] == ["late_upload", "no_location"]
    assert first["accepted"]["reason"] == "provider_proof"
    entry = db.session.query(AuditEntry).filter_by(action="claim_lines_presence_accepted").one()
    assert (entry.entity, entry.entity_id) == ("claims", str(cid))
    assert entry.changes["lines"] == [1] and entry.changes["reason"] == "provider_proof"
    assert _approve(client, month, cid).status_code == 200


def test_rejecting_every_held_line_of_an_exception_cuts_them_from_the_totals(client, month):
    a = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "same_place")
    b = _flag(month.visit(1, 3, 11, 65, [("clean", 1)]), "same_place", "no_location")
    c = _flag(month.visit(2, 3, 14, 65, [("clean", 1)]), "no_location")
    cid = claim_and_reconcile(client, month, [line(1, a), line(2, b), line(3, c)])["id"]
    r = _resolve(
        client, month.admin, cid, action="reject", reason="office_scanning", exception="same_place"
    )
    assert r.status_code == 200, r.json
    assert (r.json["line_nos"], r.json["held"]) == ([1, 2], 1)
    assert r.json["totals"] == {"claimed": "120.00", "approved": "40.00", "rejected": "80.00"}
    lines = by_line(reconcile(client, month.admin, cid).json)  # kept when run again
    assert [lines[n]["decision"] for n in (1, 2, 3)] == ["rejected", "rejected", "approved"]
    assert [lines[n]["held"] for n in (1, 2, 3)] == [False, False, True]
    line1 = db.session.query(ClaimLine).filter_by(claim_id=cid, line_no=1).one()
    assert line1.override_reason.startswith("到场存疑，不予支付：服务卡不在老人家中扫码")
    # the same again finds nothing left to do
    r = _resolve(
        client, month.admin, cid, action="reject", reason="office_scanning", exception="same_place"
    )
    assert (r.json["resolved"], r.json["held"]) == (0, 1)


def test_accepting_keeps_what_the_money_rules_decided(client, month):
    v = _flag(month.visit(0, 3, 9, 130, [("clean", 2)]), "no_home_point")
    cid = claim_and_reconcile(client, month, [line(1, v, qty="2", amount="95.00")])["id"]
    first = by_line(reconcile(client, month.admin, cid).json)[1]
    assert (first["decision"], first["approved"], first["held"]) == ("adjusted", "80.00", True)
    assert first["reasons"] == ["amount_mismatch", "no_home_point"]
    _resolve(
        client,
        month.admin,
        cid,
        action="accept",
        reason="home_point_pending",
        exception="no_home_point",
    )
    first = by_line(reconcile(client, month.admin, cid).json)[1]
    assert (first["decision"], first["approved"], first["held"]) == ("adjusted", "80.00", False)


def test_a_line_rejected_by_the_money_rules_is_not_held(client, month):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "no_location")
    ans = claim_and_reconcile(client, month, [line(1, v), line(2, v)])
    second = by_line(ans)[2]
    assert second["decision"] == "rejected" and second["held"] is False
    assert second["reasons"] == ["duplicate_line", "no_location"]
    assert ans["held"] == 1


def test_the_same_answer_again_and_an_exception_found_later_holds_again(client, month):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "no_location")
    ans = claim_and_reconcile(client, month, [line(1, v)])
    assert reconcile(client, month.admin, ans["id"]).json == ans
    _resolve(client, month.admin, ans["id"], action="accept", reason="poor_coverage", line_nos=[1])
    again = reconcile(client, month.admin, ans["id"]).json
    assert again["held"] == 0 and reconcile(client, month.admin, ans["id"]).json == again
    _flag(db.session.get(Visit, v.id), "impossible_travel")  # the nightly job found more
    later = by_line(reconcile(client, month.admin, ans["id"]).json)[1]
    assert later["held"] is True
    assert later["reasons"] == ["impossible_travel", "no_location"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "accept", "reason": "office_scanning", "line_nos": [1]}, "reason"),
        ({"action": "reject", "reason": "provider_proof", "line_nos": [1]}, "reason"),
        ({"action": "accept", "reason": "other", "line_nos": [1]}, "note"),
        ({"action": "accept", "reason": "provider_proof"}, "line_nos"),
        ({"action": "accept", "reason": "provider_proof", "line_nos": [1, 7]}, "line_nos"),
    ],
)
def test_a_resolution_names_what_is_wrong_and_changes_nothing(client, month, body, field):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "late_upload")
    cid = claim_and_reconcile(client, month, [line(1, v)])["id"]
    r = _resolve(client, month.admin, cid, **body)
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"]
    assert _resolve(
        client, month.admin, cid, action="accept", reason="provider_proof", exception="far_away"
    ).status_code in (400, 422)
    db.session.expire_all()
    assert db.session.query(ClaimLine).filter_by(claim_id=cid).one().accepted_bits == 0
    assert (
        not db.session.query(AuditEntry)
        .filter(AuditEntry.action.like("claim_lines_presence_%"))
        .count()
    )


def test_only_the_bureau_resolves_and_only_between_reconciliation_and_approval(client, month):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "no_location")
    body = {"action": "accept", "reason": "provider_proof", "line_nos": [1]}
    from .conftest import upload

    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    r = _resolve(client, month.admin, cid, **body)
    assert r.status_code == 409 and r.json["error"]["code"] == "wrong_status"
    assert reconcile(client, month.admin, cid).status_code == 200
    for who in (month.boss, month.auditor, month.worker):
        assert _resolve(client, who, cid, **body).status_code == 403
    assert _resolve(client, month.other_boss, cid, **body).status_code == 403
    # the provider sees its line held, and why
    seen = client.get(
        f"/api/v1/homecare/claims/{cid}/lines?held=true", headers=f.headers(month.boss)
    ).json
    assert [(x["line_no"], x["held"], x["reasons"]) for x in seen["items"]] == [
        (1, True, ["no_location"])
    ]
    call_back(client, month, cid)
    assert _resolve(client, month.admin, cid, **body).status_code == 200
    assert _approve(client, month, cid).status_code == 200
    r = _resolve(client, month.admin, cid, **body | {"action": "reject", "reason": "no_proof"})
    assert r.status_code == 409 and r.json["error"]["code"] == "wrong_status"


def test_the_review_page_shows_held_lines_in_words_and_the_clerk_resolves_them(client, month):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "no_location")
    w = _flag(month.visit(1, 4, 9, 65, [("clean", 1)]), "no_location", "late_upload")
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, w)])["id"]
    call_back(client, month, cid)

    f.login(client, month.boss)  # the provider reads, and has nothing to press
    page = client.get(f"/homecare/claims/{cid}").text
    assert 'data-testid="held"' in page and "待核实" in page
    assert "扫码时手机未定位，无法核对是否在老人家中" in page
    assert "扫码后超过 72 小时才上传" in page
    assert "claims_presence" not in page and f"/homecare/claims/{cid}/presence" not in page

    f.login(client, month.admin)
    page = client.get(f"/homecare/claims/{cid}").text
    assert 'data-testid="held-blocks"' in page and 'data-testid="approve"' not in page
    assert 'data-testid="resolve-no_location"' in page
    r = client.post(
        f"/homecare/claims/{cid}/presence",
        data={"csrf_token": token(page), "resolution": "reject:no_proof", "line_no": "2"},
    )
    assert r.status_code == 302
    r = client.post(
        f"/homecare/claims/{cid}/presence",
        data={"csrf_token": token(page), "resolution": "accept:other", "exception": "no_location"},
        follow_redirects=True,
    )
    assert "理由为“其他”时须写明说明" in r.text  # nothing accepted without the note
    r = client.post(
        f"/homecare/claims/{cid}/presence",
        data={
            "csrf_token": token(page),
            "resolution": "accept:other",
            "note": "信号差，已核实",
            "exception": "no_location",
        },
        follow_redirects=True,
    )
    assert "已接受 1 条明细；还有 0 条待核实" in r.text
    assert "到场异常已接受：其他（见说明）（信号差，已核实）" in r.text
    assert 'data-testid="approve"' in r.text and 'data-testid="held"' not in r.text
    # a form without its CSRF token changes nothing
    r = client.post(
        f"/homecare/claims/{cid}/presence", data={"resolution": "reject:no_proof", "line_no": "1"}
    )
    assert r.status_code == 303  # refused and sent back
    db.session.expire_all()
    assert (
        db.session.query(ClaimLine).filter_by(claim_id=cid, line_no=1).one().decision.value
        == "approved"
    )


def test_the_statement_lists_accepted_and_rejected_held_lines_with_the_reason(client, month):
    v = _flag(month.visit(0, 3, 9, 65, [("clean", 1)]), "late_upload")
    w = _flag(month.visit(1, 4, 9, 65, [("clean", 1)]), "impossible_travel")
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, w)])["id"]
    _resolve(client, month.admin, cid, action="accept", reason="callback_confirmed", line_nos=[1])
    _resolve(client, month.admin, cid, action="reject", reason="no_proof", line_nos=[2])
    xlsx = client.get(
        f"/api/v1/homecare/claims/{cid}/statement.xlsx", headers=f.headers(month.boss)
    )
    ws = load_workbook(io.BytesIO(xlsx.data))["核减、不予支付及改判"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows[1][8] == "通过" and "超过 72 小时才上传" in rows[1][9]
    assert rows[1][10] == "到场异常已接受：电话回访老人，确认当天已服务"
    assert rows[2][8] == "不予支付（改判）" and "时速 60 公里赶不到" in rows[2][9]
    assert rows[2][10] == "到场存疑，不予支付：无法证明服务人员到场"
    assert db.session.get(Claim, cid).approved_total == 40


@pytest.mark.race
@pytest.mark.parametrize("round_", range(3))  # a race is run more than once
def test_an_approval_never_passes_a_line_that_a_reconciliation_holds_at_once(
    client, live_servers, month, round_
):
    from homecare.claims import presence

    from ..test_races import fire

    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v)])["id"]
    call_back(client, month, cid)
    _flag(db.session.get(Visit, v.id), "late_upload")  # found after the first reconciliation
    clerks = [f.user("admin") for _ in range(6)]
    calls = [
        (
            f"{live_servers[i % 2].url}/api/v1/homecare/claims/{cid}/"
            f"{'reconcile' if i % 2 else 'approve'}",
            {},
            f.headers(c),
        )
        for i, c in enumerate(clerks)
    ]
    answers = fire(calls)
    assert {code for code, _ in answers} <= {200, 409}, answers
    approvals = [
        a
        for (code, a), (url, *_) in zip(answers, calls, strict=True)
        if code == 200 and url.endswith("approve")
    ]
    assert len(approvals) <= 1
    db.session.expire_all()
    claim = db.session.get(Claim, cid)
    if claim.status.value == "approved":
        # approved first: no reconciliation got in after it to hold the line
        assert presence.held_count(claim) == 0
        assert db.session.query(ClaimLine).filter_by(claim_id=cid).one().reason_bits == 0
    else:
        assert presence.held_count(claim) == 1 and not approvals
