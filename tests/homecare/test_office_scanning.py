"""Issue 14's scenario end to end: a provider's worker scans twenty elders' cards from the
office, back-dated by four days, without location, and the provider claims them. The
claim is caught at reconciliation with every line flagged and held (not one is paid
until the clerk decides), the patterns page and API rank that provider and that worker
first, and an honest provider's month beside it passes clean."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from eldercare.extensions import db
from eldercare.timeutil import LOCAL, local_today
from homecare import cards, services
from homecare import visits as hv
from tests import factories as f

from .claims.conftest import call_back
from .conftest import elder, enrol, make_provider, scan
from .test_patterns import east

CARDS = 20


def _day() -> tuple[datetime, str]:
    """Four days ago (local midnight, in UTC) and its month: every scan of that day reaches
    the server more than 72 hours after it was made."""
    day = local_today() - timedelta(days=4)
    if day.year != local_today().year:  # the first days of January: last year's prices
        services.seed_reference_data(day.year)
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(UTC)
    return start, f"{day.year}-{day.month:02d}"


def test_twenty_cards_scanned_back_dated_from_the_office_are_caught_end_to_end(client):
    midnight, month = _day()
    year = int(month[:4])
    dishonest = make_provider()
    honest = make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
    boss = f.user("provider", provider_id=dishonest.id, username="kangle")
    scanner = f.user("worker", provider_id=dishonest.id, username="kangle_w1", display_name="刘某")
    colleague = f.user("worker", provider_id=dishonest.id, username="kangle_w2")
    honest_boss = f.user("provider", provider_id=honest.id, username="yihe")
    honest_worker = f.user("worker", provider_id=honest.id, username="yihe_w1")
    clerk = f.user("admin", username="clerk")
    auditor = f.user("auditor", username="shenji")

    # twenty elders of the dishonest provider, each at home; neighbours in the list live
    # 6 km apart, which the scan times (15 minutes apart) make impossible to travel
    enrolments = []
    for i in range(CARDS):
        p = elder(f"老人{i + 1}")
        p.home_lat, p.home_lng = east(6 if i % 2 else 0, north=0.3 * i)
        enrolments.append(enrol(p, dishonest, year))
    # the office: twenty cards, one after another, no position, sent four days late
    for i, e in enumerate(enrolments):
        start = midnight + timedelta(hours=8, minutes=15 * i)
        qr = cards.url(e)
        r = scan(
            client,
            scanner,
            qr,
            "check_in",
            at=start,
            lat=None,
            lng=None,
            no_location_reason="no_signal",
        )
        assert r.status_code == 201, r.json
        r = scan(
            client,
            scanner,
            qr,
            "check_out",
            at=start + timedelta(minutes=12),
            lat=None,
            lng=None,
            no_location_reason="no_signal",
            services=[{"code": "meal", "quantity": 1}],
        )
        assert r.status_code == 201, r.json
        assert {"no_location", "late_upload"} <= set(r.json["exceptions"])
    # a colleague of the same provider who works honestly, and an honest provider: their
    # phones sent each scan from the elder's home as it was made
    for i, (who, provider) in enumerate(
        [
            (colleague, dishonest),
            (honest_worker, honest),
            (honest_worker, honest),
            (honest_worker, honest),
        ]
    ):
        p = elder(f"邻居{i}", township="510704003" if provider is honest else "510704001")
        p.home_lat, p.home_lng = east(1 + i, north=-5)
        e = enrol(p, provider, year)
        start = midnight + timedelta(hours=9 + 2 * i)
        v = hv.check_in(who, e, start, p.home_lat, p.home_lng)
        hv.check_out(
            v, start + timedelta(minutes=65), [("care", Decimal(1))], p.home_lat, p.home_lng
        )
        db.session.commit()
        assert v.exceptions == []

    # the provider claims the month from its logged visits; the bureau reconciles
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(boss),
        json={"provider_id": dishonest.id, "month": month},
    )
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    r = client.post(f"/api/v1/homecare/claims/{cid}/reconcile", headers=f.headers(clerk))
    assert r.status_code == 200, r.json
    ans = r.json
    office = [x for x in ans["lines"] if x["claimed"] == "30.00"]  # the meals
    assert len(office) == CARDS and len(ans["lines"]) == CARDS + 1
    for x in office:  # every line flagged, in words the clerk reads, and held
        assert {"no_location", "late_upload"} <= set(x["reasons"]), x
        assert x["held"] is True and x["decision"] == "approved", x
    assert sum("impossible_travel" in x["reasons"] for x in office) == CARDS - 1
    honest_line = next(x for x in ans["lines"] if x["claimed"] != "30.00")
    assert (honest_line["reasons"], honest_line["held"]) == ([], False)
    assert ans["held"] == CARDS
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/approve",
        headers=f.headers(clerk),
        json={"override_reason": "回访以后再做"},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "held_lines"

    # the patterns API ranks that provider and that worker first
    r = client.get(f"/api/v1/homecare/patterns?month={month}", headers=f.headers(auditor))
    assert r.status_code == 200, r.json
    first = r.json["providers"][0]
    assert first["provider_id"] == dishonest.id and first["visits"] == CARDS + 1
    assert first["no_location"] == {"count": CARDS, "share": "0.952"}
    assert first["late_upload"]["count"] == CARDS
    assert first["impossible_travel"]["count"] == CARDS - 1
    top = r.json["workers"][0]
    assert (top["worker_id"], top["visits"]) == (scanner.id, CARDS)
    assert top["no_location"] == top["late_upload"] == {"count": CARDS, "share": "1.000"}
    assert [w["worker_id"] for w in r.json["workers"][1:]] in (
        [colleague.id, honest_worker.id],
        [honest_worker.id, colleague.id],
    )
    assert all(w["no_location"]["count"] == 0 for w in r.json["workers"][1:])
    second = r.json["providers"][1]
    assert second["provider_id"] == honest.id and second["visits"] == 3
    assert all(
        second[c]["count"] == 0
        for c in ("no_location", "late_upload", "impossible_travel", "same_place")
    )

    # and so does the page, whose numbers open the visits behind them
    f.login(client, clerk)
    html = client.get(f"/homecare/patterns?month={month}").text
    providers = re.findall(r'data-provider="(\d+)"', html)
    workers = re.findall(r'data-worker="(\d+)"', html)
    assert providers[0] == str(dishonest.id) and workers[0] == str(scanner.id)
    link = f"/homecare/visits?exception=no_location&amp;month={month}&amp;worker_id={scanner.id}"
    assert link in html
    listed = client.get(link.replace("&amp;", "&")).text
    for e in enrolments:
        assert f'enrolments/{e.id}"' in listed

    # the clerk rejects the office's lines in one decision; the honest line is paid
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/presence",
        headers=f.headers(clerk),
        json={
            "action": "reject",
            "reason": "office_scanning",
            "exception": "no_location",
            "note": "二十张卡同一上午补扫",
        },
    )
    assert r.status_code == 200, r.json
    assert (r.json["resolved"], r.json["held"]) == (CARDS, 0)
    assert r.json["totals"] == {"claimed": "650.00", "approved": "50.00", "rejected": "600.00"}
    call_back(client, SimpleNamespace(admin=clerk), cid)  # approval waits for them too
    r = client.post(f"/api/v1/homecare/claims/{cid}/approve", headers=f.headers(clerk))
    assert r.status_code == 200 and r.json["totals"]["approved"] == "50.00"

    # the honest provider's claim of the same month: nothing held, approved as claimed
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(honest_boss),
        json={"provider_id": honest.id, "month": month},
    )
    hid = r.json["id"]
    ans = client.post(f"/api/v1/homecare/claims/{hid}/reconcile", headers=f.headers(clerk)).json
    assert ans["held"] == 0 and all(x["reasons"] == [] for x in ans["lines"])
    assert ans["totals"]["approved"] == ans["totals"]["claimed"] == "150.00"
