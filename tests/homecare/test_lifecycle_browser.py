"""A bureau clerk changes an elder's provider mid-year in a real browser (issue 17's
journey): from the person's page to the enrolment, 变更服务组织, and the balance follows
to the new provider's enrolment while the old one shows it moved."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare import ledger
from homecare.models import Enrolment
from tests import factories as f

from .conftest import now

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


def test_a_clerk_changes_an_elders_provider_and_the_balance_follows(
    app, world, live_servers, page_for
):
    f.user("admin", username="clerk_li", display_name="李科员")
    ledger.debit(world.enrolment.id, None, Decimal("120.00"), now() - timedelta(days=3))
    db.session.commit()
    person_id, old_id, other_name = world.person.id, world.enrolment.id, world.other.name
    other_id = world.other.id
    db.session.commit()  # touch no model until the end: SQLite's lock is the servers'
    base = live_servers[0].url
    page = page_for(1280, 900)
    errors = _watch(page)
    page.on("dialog", lambda d: d.accept())
    page.goto(base + "/login")
    page.fill("#username", "clerk_li")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.goto(f"{base}/people/{person_id}")
    page.click(f"[data-testid=homecare-panel] a[href='/homecare/enrolments/{old_id}']")
    assert page.inner_text("[data-testid=balance]").strip() == "¥180.00"
    page.click("[data-testid=transfer] summary")
    page.select_option("#transfer-provider", str(other_id))
    page.fill("#transfer-date", local_today().isoformat())
    page.click("[data-testid=transfer] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert other_name in page.inner_text("main")
    assert page.inner_text("[data-testid=balance]").strip() == "¥180.00"
    assert page.locator("[data-testid=predecessor]").is_visible()
    page.click("[data-testid=predecessor] a")
    assert page.inner_text("[data-testid=balance]").strip() == "¥0.00"
    assert page.locator("[data-testid=successor]").is_visible()
    assert page.locator("[data-testid=transfer]").count() == 0
    db.session.expire_all()
    new = db.session.query(Enrolment).filter_by(transferred_from_id=old_id).one()
    assert (new.provider_id, new.balance, new.status) == (other_id, Decimal("180.00"), "active")
    db.session.commit()
    assert not errors, errors
