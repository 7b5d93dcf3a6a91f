"""Setting a home up in a real browser (issue 17.2): a manager adds a bed to their home
and takes another out of service with its reason; the board shows it out of service,
with the reason, and one bed fewer available."""

import pytest

from eldercare.extensions import db
from facilities.models import Bed, BedOutage
from tests import factories as f
from tests.conftest import ARTIFACTS

from .conftest import make_home
from .test_browser import _login, _watch

pytestmark = pytest.mark.browser


def test_a_manager_takes_a_bed_out_of_service(app, live_servers, page_for):
    home, beds = make_home(beds=4)
    f.user("manager", username="mgr_xinqiao", facility_id=home.id, display_name="新桥院长")
    home_id, bed_id = home.id, beds[1].id
    db.session.commit()
    base = live_servers[0].url
    page = page_for(820, 1180)  # a tablet in the home
    errors = _watch(page)
    _login(page, base, "mgr_xinqiao")
    # from the home page to the set-up page: a bed is added without any API
    page.click("[data-testid=home-setup]")
    page.fill("#bed-code", "05")
    page.select_option("#bed-room", label="R2")
    page.select_option("#bed-kind", "nursing")
    page.click("[data-testid=add-bed-button]")
    page.wait_for_selector(".alert-success")
    assert "已添加床位 05" in page.inner_text(".alert-success")
    assert "05" in page.inner_text("[data-room=R2]")

    page.goto(f"{base}/facilities/{home_id}")
    summary = page.inner_text("[data-testid=board-summary]")
    assert "空闲 5" in summary and "停用 0" in summary
    page.click(f"#bed-{bed_id}")
    page.click("[data-testid=outage-details] summary")
    page.fill("#outage-reason", "卫生间漏水维修")
    page.click("[data-testid=outage-button]")
    page.wait_for_selector(".alert-success")
    tile = page.locator(f"#bed-{bed_id}")
    assert tile.get_attribute("data-status") == "out_of_service"
    assert "停用" in tile.inner_text() and "卫生间漏水维修" in tile.inner_text()
    summary = page.inner_text("[data-testid=board-summary]")
    assert "空闲 4" in summary and "停用 1" in summary
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bed-board-out-of-service.png"), full_page=True)
    assert not errors, errors

    db.session.expire_all()
    assert db.session.get(Bed, bed_id).out_of_service
    outage = db.session.query(BedOutage).filter_by(bed_id=bed_id).one()
    assert outage.reason == "卫生间漏水维修" and outage.end_date is None
    db.session.commit()
