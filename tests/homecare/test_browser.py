"""A worker logs a visit from a phone-sized window: the card's URL, log in, 开始服务,
pick the services, 结束服务 — with the real JavaScript against a real server."""

from __future__ import annotations

import pytest

from eldercare.extensions import db
from homecare import cards
from homecare.models import Visit
from tests import factories as f

pytestmark = pytest.mark.browser


def test_a_worker_checks_in_and_out_from_the_card_url(app, world, live_servers, page_for):
    url = f"{live_servers[0].url}/v/{cards.token(world.enrolment)}"
    username = world.worker.username
    # End the test's transaction and touch no model until the end: on SQLite it would
    # hold the write lock that the server needs.
    db.session.commit()
    page = page_for(390, 844)
    page.goto(url)
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("[data-testid=check-in]")
    assert "李秀英" in page.inner_text("[data-testid=elder-name]")
    assert page.inner_text("[data-testid=balance]").strip() == "¥300.00"
    page.click("[data-testid=check-in]")
    page.wait_for_selector("[data-testid=check-out]:visible")
    page.fill("#qty_care", "1")
    page.click("[data-testid=check-out]")
    page.wait_for_selector("[data-testid=check-in]:visible")
    assert page.inner_text("[data-testid=balance]").strip() == "¥250.00"
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert v.status.value == "flagged"  # a minute on site for an hour of care
    assert v.exceptions == ["too_short", "quantity_exceeds_time"]
    assert str(v.subsidised) == "50.00"
    db.session.commit()
