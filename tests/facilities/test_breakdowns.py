"""Every bed breakdown adds up on the demo data (issue 17.3): total = occupied + held +
reserved + available + out_of_service, in the overview's `beds` and `beds.care_home`,
each facility's (list and occupancy), the occupancy page and /public."""

from __future__ import annotations

import re

import sqlalchemy as sa

from eldercare.demo import load_demo
from eldercare.extensions import db
from eldercare.models import User
from facilities.models import Bed, BedOutage
from tests import factories

PARTS = ("occupied", "held", "reserved", "available", "out_of_service")


def _adds_up(b: dict, where: str) -> None:
    assert all(k in b for k in ("total", *PARTS)), (where, b)
    assert b["total"] == sum(b[k] for k in PARTS), (where, b)


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_every_bed_breakdown_adds_up_on_the_demo_data(client):
    load_demo(scale=1, seed=7, echo=lambda _m: None)
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    h = factories.headers(admin)
    o = client.get("/api/v1/stats/overview", headers=h).json
    _adds_up(o["beds"], "beds")
    care = o["beds"]["care_home"]
    _adds_up(care, "beds.care_home")
    assert care["total"] == 1720 and care["out_of_service"] > 0 and care["reserved"] > 0
    assert care["nursing_target"] == "0.550"
    facilities = client.get("/api/v1/facilities?per_page=500", headers=h).json["items"]
    assert len(facilities) == 49
    for f in facilities:
        _adds_up(
            {k.removeprefix("beds_"): v for k, v in f.items() if k.startswith("beds_")}, f["name"]
        )
    some = facilities[0]["id"]
    _adds_up(client.get(f"/api/v1/facilities/{some}/occupancy", headers=h).json, "occupancy")

    # the demo's beds out of service each say why, and the board shows it
    reasons = set(
        db.session.scalars(sa.select(BedOutage.reason).where(BedOutage.end_date.is_(None)))
    )
    assert len(reasons) >= 3 and "" not in reasons
    bed = db.session.scalar(sa.select(Bed).where(Bed.out_of_service.is_(True)).limit(1))
    factories.login(client, factories.user("admin", username="clerk_test"))
    assert bed.out_of_service_reason in client.get(f"/facilities/{bed.facility_id}").text

    # the occupancy page: each home's row, the care homes' and the district's figures
    page = client.get("/facilities/occupancy").text
    rows = re.findall(r'<tr data-home="\d+">(.*?)</tr>', page, re.S)
    assert len(rows) == 23
    for row in rows:
        cells = re.findall(r'<td class="text-end">([\d,]+)</td>', row)
        total, _nursing, occupied, held, reserved, available, out = map(_number, cells[:7])
        assert total == occupied + held + reserved + available + out, row
    for testid in ("care-home-parts", "district-parts"):
        text = re.search(rf'data-testid="{testid}">(.*?)</div>', page, re.S).group(1)
        assert len(re.findall(r"[\d,]+", text)) == 5
    parts = [
        _number(n)
        for n in re.findall(
            r"[\d,]+", re.search(r'data-testid="care-home-parts">(.*?)</div>', page).group(1)
        )
    ]
    assert sum(parts) == 1720

    # /public, without login
    client.post("/logout", data={"csrf_token": factories.csrf(client, "/")})
    public = client.get("/public").text
    lines = dict(re.findall(r"<p class=\"fs-4 mb-1\">([^：<]+)：([\d,]+) 张</p>", public))
    assert _number(lines["床位"]) == 1720
    assert _number(lines["床位"]) == sum(
        _number(lines[k]) for k in ("在住", "请假（床位保留）", "预留", "空余床位", "停用")
    )
