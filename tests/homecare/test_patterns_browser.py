"""A clerk opens the patterns page from the menu and follows a number to its visits, with
the real JavaScript (the chart) against a real server."""

from __future__ import annotations

import pytest

from eldercare.extensions import db
from tests import factories as f

from .claims.conftest import month_text
from .test_browser import _watch
from .test_patterns import _flagged_town, town  # noqa: F401  (town: the fixture)

pytestmark = pytest.mark.browser


def test_a_clerk_opens_the_patterns_page_and_follows_a_number_to_its_visits(
    app,
    town,  # noqa: F811
    live_servers,
    page_for,
):
    visits, _trip = _flagged_town(town)
    worker_id, office_ids = town.worker.id, sorted(v.enrolment_id for v in visits)
    clerk = town.admin.username
    # End the test's transaction and touch no model after it: on SQLite it would hold the
    # write lock the servers need.
    db.session.commit()
    page = page_for(1280, 900)
    errors = _watch(page)
    base = live_servers[0].url
    page.goto(base + "/login")
    page.fill("#username", clerk)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.click("nav >> text=居家养老")  # the menu groups home care's pages
    page.click("nav >> a:has-text('异常模式')")
    page.wait_for_selector("[data-testid=pattern-workers]")
    if f"· {month_text()}" not in page.inner_text("h1"):  # January: this month, not last
        page.fill("input[name=month]", month_text())
        page.click("form[method=get] button")
        page.wait_for_selector(f"h1:has-text('{month_text()}')")
    # the chart is drawn (Chart.js replaced the canvas' size), and the table says the same
    page.wait_for_function("document.querySelector('canvas.js-hc-chart').style.width !== ''")
    first = page.locator("[data-testid=pattern-workers] tbody tr").first
    assert first.get_attribute("data-worker") == str(worker_id)
    cell = first.locator("td[data-code=same_place]")
    assert cell.inner_text().split()[0] == "3"
    cell.locator("a").click()
    page.wait_for_selector("[data-testid=visits-table]")
    assert "/homecare/visits" in page.url and f"worker_id={worker_id}" in page.url
    rows = page.locator("[data-testid=visits-table] tbody tr")
    assert rows.count() == 3
    shown = sorted(
        int(h.split("/")[-1])
        for h in rows.locator("td:first-child a").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
    )
    assert shown == office_ids
    assert rows.first.inner_text().count("同一天三位以上老人在同一地点") == 1
    # the filter form keeps the worker when the clerk narrows further
    assert page.locator("input[name=worker_id]").get_attribute("value") == str(worker_id)
    assert not errors, errors
