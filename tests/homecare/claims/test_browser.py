"""A clerk reviews and approves a claim in a real browser at a desktop PC: reconcile,
read the exception in words, override it with a reason, approve at the bottom."""

import pytest

from tests import factories as f

from .conftest import line, upload

pytestmark = pytest.mark.browser


def test_a_clerk_reviews_and_approves_a_claim(app, client, live_servers, page_for, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    w = month.visit(1, 4, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id,
                 [line(1, v), line(2, v), line(3, w)]).json["id"]
    page = page_for(1280, 900)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())
    base = live_servers[0].url
    page.goto(base + "/login")
    page.fill("#username", "clerk")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.goto(f"{base}/homecare/claims")
    page.click(f"a[href='/homecare/claims/{cid}']")
    page.click("[data-testid=reconcile]")
    page.wait_for_selector("[data-testid=group-duplicate_line]")
    group = page.inner_text("[data-testid=group-duplicate_line]")
    assert "重复申报" in group and "不予支付" in group
    assert "¥80.00" in page.inner_text("[data-testid=approved-total]")
    row = page.locator("[data-testid=group-duplicate_line] details")
    row.locator("summary").click()
    row.locator("select").select_option("approved")
    assert row.locator(".js-amount").is_hidden()
    row.locator("textarea").fill("同一天上下午各保洁一次，已电话核实")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert "¥120.00" in page.inner_text("[data-testid=approved-total]")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=pay]")
    assert "已审批" in page.inner_text("[data-testid=claim-status]")
    assert "clerk" in page.inner_text("[data-testid=claim-flow]") or "审批" in page.inner_text(
        "[data-testid=claim-flow]")
    page.click(f"a[href='/homecare/claims/visits/{v.id}']")
    assert "申报情况" in page.inner_text("main")
    assert not [e for e in errors if "Content Security Policy" in e], errors
