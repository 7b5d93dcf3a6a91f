"""A clerk resolves held lines in a real browser (issue 14): the reconciled claim says
which lines lack proof of presence and why, approval waits, the clerk rejects one
exception's lines with a reason picked from the list and accepts the other's with a
note, and approval is offered."""

import pytest

from eldercare.extensions import db
from tests import factories as f

from .conftest import call_back, claim_and_reconcile, line

pytestmark = pytest.mark.browser


def test_a_clerk_resolves_held_lines_then_approves(app, client, live_servers, page_for, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    w = month.visit(1, 4, 9, 65, [("clean", 1)])
    u = month.visit(2, 5, 9, 65, [("clean", 1)])
    for visit, code in ((v, "same_place"), (w, "no_location"), (u, "no_location")):
        visit.flag(code)
    db.session.commit()
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, w), line(3, u)])["id"]
    call_back(client, month, cid)
    # End the test's transaction: on SQLite it would hold the write lock the servers need.
    db.session.commit()
    page = page_for(1280, 900)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    base = live_servers[0].url
    page.goto(base + "/login")
    page.fill("#username", "clerk")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.goto(f"{base}/homecare/claims/{cid}")
    held = page.inner_text("[data-testid=held]")
    assert "待核实的明细：3 条" in held and "扫码时手机未定位" in held
    assert "同一天三位以上老人的卡在同一地点" in held
    assert page.locator("[data-testid=approve]").count() == 0
    assert "全部接受或拒付后才能审批" in page.inner_text("[data-testid=held-blocks]")
    assert page.locator("[data-testid=held-badge]").count() == 3

    same = page.locator("[data-testid=held-same_place]")
    same.locator("select").select_option("reject:office_scanning")
    same.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert "已拒付 1 条明细；还有 2 条待核实" in page.inner_text(".alert-success")
    # "other" needs a note: the browser is told, nothing changes
    nol = page.locator("[data-testid=held-no_location]")
    nol.locator("select").select_option("accept:other")
    nol.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-danger")
    assert "须写明说明" in page.inner_text(".alert-danger")
    nol = page.locator("[data-testid=held-no_location]")
    nol.locator("select").select_option("accept:other")
    nol.locator("input[name=note]").fill("山区信号差，老人电话确认")
    nol.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert page.locator("[data-testid=held]").count() == 0
    assert "¥80.00" in page.inner_text("[data-testid=approved-total]")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=pay]")
    assert "已审批" in page.inner_text("[data-testid=claim-status]")
    assert not errors, errors
