"""Beds in a real browser. A manager keeps the bed board true on a tablet: admits, moves
a resident to another bed of the home and discharges them, the board checked after each
step. A bureau clerk places a 五保 applicant from the waiting list in one click."""

import pytest

from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import local_today
from facilities import services
from facilities.models import EndReason, Stay
from tests import factories as f
from tests.conftest import ARTIFACTS

from .conftest import days_ago, make_home

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    """Console errors (a CSP violation is one) collected while the page is used."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
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
    # several forms on the page ask for a date: each label belongs to its own form's field
    stray = page.eval_on_selector_all(
        "form label[for]",
        """labels => labels.filter(
        l => !l.closest("form").contains(document.getElementById(l.htmlFor))
    ).map(l => l.textContent)""",
    )
    assert stray == []
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
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bed-board-after-transfer.png"), full_page=True)

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
        (second, today, today, EndReason.DISCHARGED),
    ]
    assert stays[1].previous_stay_id == stays[0].id
    db.session.commit()


def test_a_clerk_places_a_wubao_applicant_in_the_first_ranked_bed(
    app, client, live_servers, page_for
):
    weicheng, wc_beds = make_home(beds=4, nursing=2)  # R1: two nursing beds, R2: ordinary
    make_home("石马镇中心敬老院", beds=2, nursing=1, township="510704101")
    clerk = f.user("admin", username="clerk_place", display_name="李干事")
    wang = f.person("王德福", township_code="510704104", care_level="full")
    li = f.person("李秀英", sex="F", township_code="510704101", care_level="self")
    people.start_wubao(li, "elderly", "dispersed", days_ago(900), days_ago(40))
    people.start_wubao(wang, "elderly", "dispersed", days_ago(800), days_ago(10))
    headers = f.headers(clerk)
    db.session.commit()
    wang_id, home_id, bed_id = wang.id, weicheng.id, wc_beds[0].id
    db.session.commit()

    base = live_servers[0].url
    page = page_for(1280, 900)  # the bureau's office PC
    errors = _watch(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    _login(page, base, "clerk_place")
    page.goto(base + "/placements")
    waiting = page.locator("[data-testid=waiting-list] a")
    # full- and partial-care persons first (国发〔2016〕14号), then who applied first
    assert [waiting.nth(i).inner_text().split()[0] for i in range(waiting.count())] == [
        "王德福",
        "李秀英",
    ]
    waiting.filter(has_text="王德福").click()
    page.wait_for_selector("[data-testid=option]")
    first = page.locator("[data-testid=option]").first
    text = first.inner_text()
    # a full-care man from 魏城: a nursing bed in his own township's home comes first
    assert text.startswith("1. 魏城镇敬老院") and "同乡镇（魏城镇）" in text
    assert "护理型床位，适合全护理人员" in text
    assert "石马镇中心敬老院" in page.locator("[data-testid=option]").nth(1).inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "placement-ranked-beds.png"), full_page=True)
    first.locator("[data-testid=place-button]").click()
    page.wait_for_selector(".alert-success")
    assert dialogs and "王德福" in dialogs[-1] and "魏城镇敬老院" in dialogs[-1]
    done = page.inner_text(".alert-success")
    assert "王德福 已安置到 魏城镇敬老院 01" in done and "集中供养" in done
    assert page.inner_text("[data-testid=waiting-list]").split()[0] == "李秀英"
    assert "王德福" not in page.inner_text("[data-testid=waiting-list]")
    # the home's board shows him in the bed
    page.goto(f"{base}/facilities/{home_id}")
    tile = page.locator(f"#bed-{bed_id}")
    assert tile.get_attribute("data-status") == "occupied" and "王德福" in tile.inner_text()
    assert not errors, errors

    # and so does the API: the bed is his, his support is centralised from today
    beds = client.get(f"/api/v1/facilities/{home_id}/beds", headers=headers).json["items"]
    assert [(b["id"], b["status"], b.get("person_id")) for b in beds if b.get("person_id")] == [
        (bed_id, "occupied", wang_id)
    ]
    person = client.get(f"/api/v1/people/{wang_id}", headers=headers).json
    assert person["wubao"]["support"] == "centralized"
    assert person["wubao"]["since"] == local_today().isoformat()
    overview = client.get("/api/v1/stats/overview", headers=headers).json
    assert overview["wubao"]["centralized"] == 1 and overview["wubao"]["total"] == 2
