"""A clerk reviews and approves a claim in a real browser at a desktop PC: reconcile,
read the exception in words, override it with a reason, approve at the bottom, and
download the settlement statement (Excel and PDF) that the provider will be paid on."""

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from eldercare.extensions import db
from tests import factories as f

from .conftest import line, month_text, upload

pytestmark = pytest.mark.browser


def test_a_clerk_reviews_approves_and_downloads_the_statement(
    app, client, live_servers, page_for, month, tmp_path
):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    w = month.visit(1, 4, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v), line(2, v), line(3, w)]).json[
        "id"
    ]
    provider, vid = month.provider.name, v.id
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
    # both visits were drawn for a call-back, none is recorded yet: the clerk approves
    # anyway with a written reason
    assert "2" in page.inner_text("[data-testid=callbacks-pending]")
    page.fill("[data-testid=approve-reason]", "回访电话本周停机，下周补做")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=pay]")
    assert "已审批" in page.inner_text("[data-testid=claim-status]")
    assert "clerk" in page.inner_text("[data-testid=claim-flow]") or "审批" in page.inner_text(
        "[data-testid=claim-flow]"
    )

    # the statement, as the provider will be paid on it
    with page.expect_download() as got:
        page.click("[data-testid=statement-xlsx]")
    sheet = got.value
    assert sheet.suggested_filename == f"claim-{cid}-{month_text()}.xlsx"
    sheet.save_as(tmp_path / sheet.suggested_filename)
    wb = load_workbook(tmp_path / sheet.suggested_filename)
    summary = dict(r[:2] for r in wb["结算汇总"].iter_rows(values_only=True) if r and r[0])
    assert summary["服务组织"] == provider and summary["状态"] == "已审批"
    assert summary["服务组织申报金额（元）"] == 120 and summary["民政局核定金额（元）"] == 120
    assert summary["核减金额（元）"] == 0 and "clerk" in summary["审批"]
    # the line paid against the reconciliation's advice is on it, with the written reason
    by_hand = list(wb["核减、不予支付及改判"].iter_rows(values_only=True))[1:]
    assert [(r[0], r[7], r[8], r[10]) for r in by_hand] == [
        (2, 40, "通过（改判）", "同一天上下午各保洁一次，已电话核实")
    ]
    with page.expect_download() as got:
        page.click("[data-testid=statement-pdf]")
    printed = got.value
    assert printed.suggested_filename == f"claim-{cid}-{month_text()}.pdf"
    printed.save_as(tmp_path / printed.suggested_filename)
    text = " ".join(
        " ".join(p.extract_text().split())
        for p in PdfReader(tmp_path / printed.suggested_filename).pages
    )
    assert provider in text and "民政局核定金额（元） 120.00" in text and "已审批" in text
    assert "通过（改判）" in text and "同一天上下午各保洁一次" in text

    page.click(f"a[href='/homecare/claims/visits/{vid}']")
    assert "申报情况" in page.inner_text("main")
    assert not errors, errors
