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


@pytest.fixture(scope="module")
def production_server(app):
    """A server with the second factor on, as production runs (the run's others have it
    off)."""
    import requests

    from tests.conftest import LiveServer

    server = LiveServer(workers=1, env={"ELDERCARE_TOTP": "on"})
    # its one worker imports the app after the master listens: wait for it, not a timeout
    assert requests.get(f"{server.url}/healthz", timeout=300).status_code == 200
    yield server
    server.stop()


def test_a_new_admin_enrols_then_replaces_the_one_time_password(app, production_server, page_for):
    import pyotp

    from eldercare.auth.services import create_user
    from eldercare.extensions import db

    create_user("newclerk", "Given-by-admin-1", "admin", display_name="王干事", one_time=True)
    db.session.commit()
    page = page_for(390, 844)  # a phone
    page.goto(production_server.url + "/login")
    page.fill("#username", "newclerk")
    page.fill("#password", "Given-by-admin-1")
    page.click("#login-submit")
    secret = page.inner_text("[data-testid=otp-secret]").strip()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#otp-submit")
    page.wait_for_selector("[data-testid=one-time-note]")
    # nothing else opens before the new password is set
    page.goto(production_server.url + "/people")
    assert "/login" in page.url
    page.goto(production_server.url + "/login/password")
    page.fill("#new_password", "Chosen-by-me-7")
    page.fill("#confirm", "Chosen-by-me-8")
    page.click("#password-submit")
    assert "两次输入的密码不一致" in page.inner_text(".invalid-feedback")
    page.fill("#new_password", "Chosen-by-me-7")
    page.fill("#confirm", "Chosen-by-me-7")
    page.click("#password-submit")
    page.wait_for_selector("[data-testid=figures]")
    assert "王干事" in page.inner_text("[data-testid=whoami]")
