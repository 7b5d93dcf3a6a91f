"""A person logs in with a real browser and sees the dashboard."""

import pytest

from tests import factories as f

pytestmark = pytest.mark.browser


def test_a_clerk_logs_in_and_sees_the_dashboard(app, live_servers, page_for, make_person):
    f.user("admin", username="clerk", display_name="李干事")
    page = page_for(1280, 900)
    page.goto(live_servers[0].url + "/")
    assert "/login" in page.url
    page.fill("#username", "clerk")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("[data-testid=figures]")
    assert "李干事" in page.inner_text("[data-testid=whoami]")
    assert page.inner_text("[data-testid=wubao-total]").strip() == "0"


def test_a_wrong_password_is_said_under_the_field(app, live_servers, page_for):
    f.user("admin", username="clerk2")
    page = page_for(390, 844)  # a phone
    page.goto(live_servers[0].url + "/login")
    page.fill("#username", "clerk2")
    page.fill("#password", "Wrong-pass-1")
    page.click("#login-submit")
    assert "用户名或密码错误" in page.inner_text(".invalid-feedback")
