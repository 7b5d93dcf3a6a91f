"""The claim lifecycle on the pages (issue 17.5): the provider submits its draft and
withdraws a claim from the claim's page; a supplementary claim says so; the bureau's
list shows each claim's status; another provider has no such buttons, nor the claim."""

from __future__ import annotations

from eldercare.extensions import db
from eldercare.jobs import run_job
from homecare.claims.models import Claim
from tests import factories as f

from .conftest import line, month_text, upload
from .test_pages import token


def test_the_provider_submits_its_draft_then_withdraws_it(client, month):
    month.visit(0, 3, 9, 65, [("clean", 1)])
    run_job("draft-claims", month_text())
    cid = db.session.query(Claim).one().id
    f.login(client, month.boss)
    page = client.get(f"/homecare/claims/{cid}")
    assert 'data-testid="draft-note"' in page.text and 'data-testid="submit-claim"' in page.text
    assert 'data-testid="reconcile"' not in page.text
    r = client.post(f"/homecare/claims/{cid}/submit", data={"csrf_token": token(page.text)})
    assert r.status_code == 302
    page = client.get(f"/homecare/claims/{cid}")
    assert "已提交，等待民政局对账" in page.text and 'data-testid="submit-claim"' not in page.text
    r = client.post(
        f"/homecare/claims/{cid}/withdraw",
        data={"csrf_token": token(page.text), "reason": "漏了两次服务，重新申报"},
    )
    page = client.get(r.headers["Location"])
    assert 'data-testid="withdrawn-note"' in page.text and "漏了两次服务" in page.text
    assert 'data-testid="withdraw-claim"' not in page.text
    db.session.expire_all()
    assert db.session.get(Claim, cid).status.value == "withdrawn"


def test_another_provider_neither_sees_nor_withdraws(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    f.login(client, month.other_boss)
    assert client.get(f"/homecare/claims/{cid}").status_code == 404
    csrf = f.csrf(client, "/homecare/claims")
    assert (
        client.post(f"/homecare/claims/{cid}/withdraw", data={"csrf_token": csrf}).status_code
        == 404
    )
    assert (
        client.post(f"/homecare/claims/{cid}/submit", data={"csrf_token": csrf}).status_code == 404
    )
    db.session.expire_all()
    assert db.session.get(Claim, cid).status.value == "submitted"


def test_the_auditor_has_no_buttons_and_cannot_post(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    f.login(client, month.auditor)
    page = client.get(f"/homecare/claims/{cid}")
    assert page.status_code == 200 and 'data-testid="withdraw-claim"' not in page.text
    r = client.post(f"/homecare/claims/{cid}/withdraw", data={"csrf_token": token(page.text)})
    assert r.status_code == 403


def test_a_reconciled_claim_is_not_withdrawn_from_the_page(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    client.post(f"/api/v1/homecare/claims/{cid}/reconcile", headers=f.headers(month.admin))
    f.login(client, month.boss)
    page = client.get(f"/homecare/claims/{cid}")
    assert 'data-testid="withdraw-claim"' not in page.text
    r = client.post(
        f"/homecare/claims/{cid}/withdraw",
        data={"csrf_token": token(page.text)},
        follow_redirects=True,
    )
    assert "不能执行此操作" in r.text
    db.session.expire_all()
    assert db.session.get(Claim, cid).status.value == "reconciled"


def test_the_bureaus_list_shows_status_and_supplementary_claims(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    first = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    extra = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    client.post(f"/api/v1/homecare/claims/{first}/withdraw", headers=f.headers(month.boss))
    f.login(client, month.admin)
    body = client.get("/homecare/claims").text.split("<tbody>")[1]
    assert "已撤回" in body and "已提交" in body and 'data-testid="supplementary"' in body
    page = client.get(f"/homecare/claims/{extra}")
    assert 'data-testid="supplementary-note"' in page.text
    assert 'data-testid="withdraw-claim"' in page.text  # the bureau may withdraw too
    listed = client.get("/homecare/claims?status=withdrawn").text.split("<tbody>")[1]
    assert f"/homecare/claims/{first}" in listed and f"/homecare/claims/{extra}" not in listed
    export = client.get("/homecare/claims?format=csv").data.decode("utf-8-sig")
    assert "补报" in export.splitlines()[0] and "已撤回" in export
