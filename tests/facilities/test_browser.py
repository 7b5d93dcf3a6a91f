"""A manager admits a resident on the bed board with a real browser, on a tablet."""

import pytest

from eldercare.extensions import db
from tests import factories as f

from .conftest import make_home

pytestmark = pytest.mark.browser


def test_a_manager_admits_on_the_bed_board_on_a_tablet(app, live_servers, page_for):
    home, beds = make_home(beds=4)
    f.user("manager", username="mgr_weicheng", facility_id=home.id, display_name="魏城院长")
    person = f.person("王德福")
    number, home_id, bed_id = person.id_number, home.id, beds[0].id
    db.session.commit()
    page = page_for(820, 1180)  # a tablet in the home
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_servers[0].url + "/login")
    page.fill("#username", "mgr_weicheng")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
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
    assert not [e for e in errors if "Content Security Policy" in e], errors
