"""Issue 17.6 in a real browser: a day-care centre's manager, on a phone, opens the
register from their home, ticks who came yesterday and saves; the page shows the ticks
kept and the month's figures counting them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities import daycare_register
from facilities.models import Attendance
from tests import factories as f

from .conftest import make_home
from .test_browser import _login, _watch

pytestmark = pytest.mark.browser


def test_a_centre_manager_ticks_a_register_on_a_phone(app, live_servers, page_for):
    centre, _beds = make_home("魏城镇老年人日间照料中心", beds=2, kind="day_care")
    f.user(
        "manager", username="dc_weicheng", facility_id=centre.id, display_name="魏城日照中心负责人"
    )
    people = [f.person(n) for n in ("张桂芳", "李长林", "王德福")]
    daycare_register.save_register(centre, local_today() - timedelta(days=8), people)
    db.session.commit()
    centre_id, ids = centre.id, [p.id for p in people]
    day = local_today() - timedelta(days=1)
    db.session.commit()  # hold no read open while the servers work (SQLite)
    base = live_servers[0].url
    page = page_for(390, 844)  # a phone
    errors = _watch(page)
    _login(page, base, "dc_weicheng")
    page.click("[data-testid=open-register]")
    page.fill("#register-date", day.isoformat())
    page.locator("[data-testid=register-day] button").click()
    page.wait_for_url(f"**date={day.isoformat()}**")
    boxes = page.locator("[data-testid=register-list] input[type=checkbox]")
    assert boxes.count() == 3 and not any(boxes.nth(i).is_checked() for i in range(3))
    page.click("text=张桂芳")  # the whole row is the label: a thumb hits it
    page.check(f"[data-testid=present-{ids[2]}]")
    save = page.locator("[data-testid=register-save]")
    assert save.is_visible() and save.bounding_box()["width"] > 300
    save.click()
    page.wait_for_selector(".alert-success")
    assert "2 人" in page.inner_text(".alert-success")
    assert page.is_checked(f"[data-testid=present-{ids[0]}]")
    assert not page.is_checked(f"[data-testid=present-{ids[1]}]")
    assert page.is_checked(f"[data-testid=present-{ids[2]}]")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not errors, errors
    db.session.expire_all()
    saved = db.session.scalars(
        sa.select(Attendance.person_id).where(
            Attendance.facility_id == centre_id, Attendance.day == day
        )
    ).all()
    assert sorted(saved) == [ids[0], ids[2]]
    db.session.commit()
