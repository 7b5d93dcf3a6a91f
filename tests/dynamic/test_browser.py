"""In a real browser: the clerk accepts a death proposal and the bed is free again."""

from __future__ import annotations

import io

import pytest

from tests import factories as f

from .helpers import csv_bytes, days_ago, tekun

pytestmark = pytest.mark.browser


def test_accepting_a_death_proposal_frees_the_bed(app, client, live_servers, page_for):
    admin = f.user("admin", username="clerk9", display_name="张干事")
    h = f.headers(admin)
    if "facilities" not in app.config["FEATURES"]:
        pytest.skip("needs the facilities feature for the bed")
    facility = client.post(
        "/api/v1/facilities", json={"name": "石马镇敬老院", "kind": "care_home"}, headers=h
    ).json
    bed = client.post(
        f"/api/v1/facilities/{facility['id']}/beds",
        json={"code": "1-01", "kind": "ordinary"},
        headers=h,
    ).json
    p = tekun("王德福")
    stay = client.post(
        "/api/v1/stays",
        json={"person_id": p.id, "bed_id": bed["id"], "start_date": days_ago(200).isoformat()},
        headers=h,
    )
    assert stay.status_code == 201, stay.json
    comp = client.post(
        "/api/v1/comparisons",
        headers=h,
        content_type="multipart/form-data",
        data={
            "kind": "death",
            "source": "区公安分局",
            "file": (
                io.BytesIO(csv_bytes([[p.id_number, "王德福", days_ago(21).isoformat()]])),
                "list.csv",
            ),
        },
    ).json

    page = page_for(1280, 900)
    page.goto(live_servers[0].url + "/login")
    page.fill("#username", "clerk9")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("[data-testid=figures]")
    page.goto(f"{live_servers[0].url}/comparisons/{comp['id']}")
    row = page.locator("[data-testid=proposals-table] tbody tr").first
    assert "王德福" in row.inner_text() and "特困供养" in row.inner_text()
    page.on("dialog", lambda d: d.accept())  # the confirmation names the person
    row.locator("button", has_text="采纳").first.click()
    page.wait_for_selector(".alert-success")
    assert "已采纳" in page.inner_text(".alert-success")

    beds = client.get(f"/api/v1/facilities/{facility['id']}/beds", headers=h).json["items"]
    assert beds[0]["status"] != "occupied" and not beds[0].get("person_id")
    person = client.get(f"/api/v1/people/{p.id}", headers=h).json
    assert person["status"] == "deceased" and person["death_date"] == days_ago(21).isoformat()
