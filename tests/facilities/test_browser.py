"""A manager keeps the bed board true with a real browser, on a tablet: admits, moves a
resident to another bed of the home and discharges them; the board after each step."""

import pytest

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities import services
from facilities.models import EndReason, Stay
from tests import factories as f

from .conftest import days_ago, make_home

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    """Console errors (a CSP violation is one) collected while the page is used."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    return errors


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")


def test_a_manager_admits_on_the_bed_board_on_a_tablet(app, live_servers, page_for):
    home, beds = make_home(beds=4)
    f.user("manager", username="mgr_weicheng", facility_id=home.id, display_name="魏城院长")
    person = f.person("王德福")
    number, home_id, bed_id = person.id_number, home.id, beds[0].id
    db.session.commit()
    page = page_for(820, 1180)  # a tablet in the home
    errors = _watch(page)
    _login(page, live_servers[0].url, "mgr_weicheng")
    page.goto(f"{live_servers[0].url}/facilities/{home_id}")
    tiles = page.locator("[data-testid=bed-tile]")
    assert tiles.count() == 4
    assert "空闲" in tiles.first.inner_text()
    page.click(f"#bed-{bed_id}")
    page.fill("#id_number", number)
    page.click("[data-testid=admit-button]")
    page.wait_for_selector(".alert-success")
    tile = page.locator(f"#bed-{bed_id}")
    assert "王德福" in tile.inner_text() and "在住" in tile.inner_text()
    assert tile.get_attribute("data-status") == "occupied"
    page.click("[data-testid=census-button]")
    page.wait_for_selector("[data-testid=census-done]")
    assert "魏城院长" in page.inner_text("[data-testid=census-done]")
    assert not errors, errors


def test_a_manager_transfers_then_discharges_on_the_bed_board(app, live_servers, page_for):
    home, beds = make_home(beds=4)
    f.user("manager", username="mgr_shima", facility_id=home.id, display_name="石马院长")
    person = f.person("王德福")
    services.admit(person, beds[0], days_ago(30))
    db.session.commit()
    home_id, pid = home.id, person.id
    first, second = beds[0].id, beds[2].id  # 01 in room R1, 03 in room R2
    # Touch no model until the end: on SQLite an open read would hold up the servers.
    db.session.commit()
    base = live_servers[0].url
    page = page_for(820, 1180)
    errors = _watch(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    _login(page, base, "mgr_shima")
    page.goto(f"{base}/facilities/{home_id}")
    old = page.locator(f"#bed-{first}")
    assert "王德福" in old.inner_text() and "入住 30 天" in old.inner_text()

    # 转床: from 01 to 03, today
    old.click()
    page.click("button[data-bs-target='#a-transfer']")
    move = page.locator("#a-transfer form")
    move.locator("select[name=bed_id]").select_option(str(second))
    move.locator("button[type=submit], button:not([type])").click()
    page.wait_for_selector(".alert-success")
    assert "王德福 已转至 03" in page.inner_text(".alert-success")
    old, new = page.locator(f"#bed-{first}"), page.locator(f"#bed-{second}")
    assert old.get_attribute("data-status") == "available" and "空闲" in old.inner_text()
    assert new.get_attribute("data-status") == "occupied"
    # still 30 days in the home: a move between beds does not make a new resident
    assert "王德福" in new.inner_text() and "入住 30 天" in new.inner_text()
    summary = page.inner_text("[data-testid=board-summary]")
    assert "在住 1" in summary and "空闲 3" in summary

    # 离院: asked once, naming the person; the bed is free from today
    new.click()
    page.click("button[data-bs-target='#a-end']")
    leave = page.locator("#a-end form")
    leave.locator("select[name=reason]").select_option("discharged")
    leave.locator("button").click()
    page.wait_for_selector(".alert-success")
    assert dialogs and "王德福" in dialogs[-1]
    assert "王德福 已离院" in page.inner_text(".alert-success")
    tiles = page.locator("[data-testid=bed-tile]")
    assert [tiles.nth(i).get_attribute("data-status") for i in range(4)] == ["available"] * 4
    assert "王德福" not in page.inner_text(".row.g-3")
    assert "在住 0" in page.inner_text("[data-testid=board-summary]")

    # the bed's history says what happened, in words
    page.click(f"#bed-{second}")
    row = page.locator("[data-testid=bed-history] tbody tr").first
    assert "王德福" in row.inner_text() and "出院（回家）" in row.inner_text()
    page.goto(f"{base}/facilities/{home_id}/beds/{first}")
    assert "转床" in page.inner_text("[data-testid=bed-history] tbody tr")
    assert not errors, errors

    db.session.expire_all()
    stays = db.session.query(Stay).filter_by(person_id=pid).order_by(Stay.id).all()
    today = local_today()
    assert [(s.bed_id, s.start_date, s.end_date, s.end_reason) for s in stays] == [
        (first, days_ago(30), today, EndReason.TRANSFERRED),
        (second, today, today, EndReason.DISCHARGED)]
    assert stays[1].previous_stay_id == stays[0].id
    db.session.commit()
