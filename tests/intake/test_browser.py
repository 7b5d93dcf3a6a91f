"""In a real browser, through the pages alone: the township clerk receives a 特困
application, checks it at home with the six items, puts up the village notice; the
bureau confirms after the notice; the person's support starts the next month."""

from __future__ import annotations

import pytest

from eldercare.extensions import db
from intake.deadlines import first_of_next_month
from tests import factories as f

from .helpers import SHIMA, clerk, days_ago

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("[data-testid=whoami]")


def test_from_the_township_desk_to_the_first_support_month(app, client, live_servers, page_for):
    clerk_name = clerk(SHIMA).username
    f.user("admin", username="bureau1", display_name="民政局 王科长")
    number = f.new_id_number()
    base = live_servers[0].url
    db.session.commit()  # hold no SQLite lock while the servers work
    page = page_for(1280, 900)
    page.on("dialog", lambda d: d.accept())  # the confirmations name the person
    _login(page, base, clerk_name)
    page.goto(base + "/applications")
    page.click("[data-testid=new-application]")
    page.select_option("#kind", "tekun")
    page.fill("#received_on", days_ago(30).isoformat())
    page.fill("#id_number", number)
    page.fill("#name", "何德明")
    page.fill("#address", "6组21号")
    page.select_option("#support", "dispersed")
    page.click("[data-testid=application-form] button[type=submit]")
    page.wait_for_selector("[data-testid=check-form]")
    assert "已受理 何德明 的申请" in page.inner_text(".alert-success")

    page.fill("#check-on", days_ago(25).isoformat())
    for item in ("eating", "transfer", "toileting", "walking"):
        page.check(f"#{item}-0")  # done alone
    page.check("#dressing-1")
    page.check("#bathing-1")  # two items need help: 半护理
    page.fill("#check-note", "入户调查：无收入，无赡养人")
    page.click("[data-testid=check-form] button[type=submit]")
    page.wait_for_selector("[data-testid=notice-form]")
    assert "半护理" in page.inner_text("[data-testid=assessment]")

    page.fill("#start", days_ago(23).isoformat())
    page.click("[data-testid=notice-form] button[type=submit]")
    page.wait_for_selector("[data-testid=notice]")
    assert page.locator("[data-testid=decide-form]").count() == 0  # the bureau decides
    url = page.url
    page.click("form[action='/logout'] button")

    _login(page, base, "bureau1")
    page.goto(url)
    page.fill("#decide-on", days_ago(0).isoformat())
    page.check("#approved-0")
    page.click("[data-testid=decide-form] button[type=submit]")
    page.wait_for_selector("[data-testid=support-from]")
    since = first_of_next_month(days_ago(0))
    assert since.isoformat() in page.inner_text("[data-testid=support-from]")
    steps = page.inner_text("[data-testid=timeline]")
    assert "超时办理" not in steps and "王科长" in steps

    page.click("text=何德明")
    page.wait_for_selector("[data-testid=intake-person-panel]")
    assert "已确认" in page.inner_text("[data-testid=intake-person-panel]")
