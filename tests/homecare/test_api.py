"""Home-care API (API.md): providers, price list, enrolments, ledgers, visits, overview,
and the role boundaries of each, both ways."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eldercare.extensions import db
from homecare import services
from homecare.models import Service, SubsidyYear
from tests import factories as f

from .conftest import elder, enrol, make_provider, now, visit

YEAR = datetime.now(UTC).year


def test_init_db_seeds_the_catalogue_and_subsidy_idempotently(client, admin_headers):
    r = client.get("/api/v1/homecare/services", headers=admin_headers)
    assert r.status_code == 200
    codes = {s["code"]: s for s in r.json}
    assert codes["meal"] == {
        "id": codes["meal"]["id"],
        "code": "meal",
        "name": "助餐（送餐上门）",
        "unit": "meal",
        "price": "30.00",
        "year": YEAR,
    }
    assert {"bath", "clean", "escort", "care", "haircut", "company", "errand"} <= set(codes)
    services.seed_reference_data()
    services.seed_reference_data()
    db.session.commit()
    assert db.session.query(Service).filter_by(year=YEAR).count() == len(codes)
    assert db.session.query(SubsidyYear).filter_by(year=YEAR).one().amount == 300


def test_admin_adds_services_others_may_not(client, admin_headers, make_user):
    body = {"code": "foot", "name": "足部护理", "unit": "session", "price": "25.00"}
    r = client.post("/api/v1/homecare/services", json=body, headers=admin_headers)
    assert r.status_code == 201 and r.json["price"] == "25.00" and r.json["year"] == YEAR
    assert (
        client.post("/api/v1/homecare/services", json=body, headers=admin_headers).status_code
        == 409
    )
    r = client.post(
        "/api/v1/homecare/services", json=body | {"code": "x", "unit": "day"}, headers=admin_headers
    )
    assert r.status_code == 422
    nxt = client.post(
        "/api/v1/homecare/services", json=body | {"year": YEAR + 1}, headers=admin_headers
    )
    assert nxt.status_code == 201
    p = make_provider()
    for role in ("auditor", "manager", "provider", "worker"):
        kw = {"provider_id": p.id} if role in ("provider", "worker") else {}
        if role == "manager":
            continue  # a manager needs a facility (the facilities feature's)
        u = make_user(role, **kw)
        assert (
            client.post(
                "/api/v1/homecare/services", json=body | {"code": "y"}, headers=f.headers(u)
            ).status_code
            == 403
        )


def test_providers_admin_creates_provider_staff_see_their_own(client, admin_headers):
    body = {"name": "游仙区福寿居家养老服务中心", "townships": ["510704101", "510704102"]}
    r = client.post("/api/v1/homecare/providers", json=body, headers=admin_headers)
    assert r.status_code == 201 and r.json["townships"] == ["510704101", "510704102"]
    assert (
        client.post("/api/v1/homecare/providers", json=body, headers=admin_headers).status_code
        == 409
    )
    bad = client.post(
        "/api/v1/homecare/providers",
        json={"name": "x", "townships": ["999"]},
        headers=admin_headers,
    )
    assert bad.status_code == 422 and "townships" in bad.json["error"]["fields"]
    other = make_provider("其他")
    boss = f.user("provider", provider_id=r.json["id"])
    seen = client.get("/api/v1/homecare/providers", headers=f.headers(boss)).json
    assert [p["id"] for p in seen["items"]] == [r.json["id"]] and seen["total"] == 1
    listed = client.get("/api/v1/homecare/providers", headers=admin_headers).json
    assert (listed["total"], listed["page"], listed["per_page"]) == (2, 1, 50)
    one = client.get("/api/v1/homecare/providers?per_page=1&page=2", headers=admin_headers).json
    assert one["total"] == 2 and [p["id"] for p in one["items"]] == [other.id]
    assert (
        client.post(
            "/api/v1/homecare/providers", json=body | {"name": "y"}, headers=f.headers(boss)
        ).status_code
        == 403
    )
    assert other.id


def test_provider_admin_creates_their_own_workers_only(client, world, admin_headers):
    body = {"username": "kangle_w9", "display_name": "周师傅"}
    url = f"/api/v1/homecare/providers/{world.provider.id}/workers"
    r = client.post(url, json=body, headers=f.headers(world.boss))
    assert r.status_code == 201 and r.json["provider_id"] == world.provider.id
    assert r.json["one_time_password"]  # generated: the provider never picks it
    names = [w["username"] for w in client.get(url, headers=f.headers(world.boss)).json["items"]]
    assert names == ["kangle_w1", "kangle_w9"]
    foreign = f"/api/v1/homecare/providers/{world.other.id}/workers"
    assert (
        client.post(
            foreign, json=body | {"username": "zzz"}, headers=f.headers(world.boss)
        ).status_code
        == 404
    )
    assert (
        client.post(
            url, json=body | {"username": "w2x"}, headers=f.headers(world.worker)
        ).status_code
        == 403
    )
    chosen = client.post(
        url,
        json=body | {"username": "w3x", "password": "Chosen-2026"},
        headers=f.headers(world.boss),
    )
    assert chosen.status_code == 422


def test_enrolment_allocates_the_subsidy(client, admin_headers):
    p = make_provider()
    person = elder()
    r = client.post(
        "/api/v1/homecare/enrolments",
        json={"person_id": person.id, "provider_id": p.id, "year": YEAR},
        headers=admin_headers,
    )
    assert r.status_code == 201
    assert r.json["ledger"] == {"allocated": "300.00", "spent": "0.00", "balance": "300.00"}
    assert r.json["status"] == "active"
    again = client.post(
        "/api/v1/homecare/enrolments",
        json={"person_id": person.id, "provider_id": p.id, "year": YEAR},
        headers=admin_headers,
    )
    assert again.status_code == 409
    nxt = client.post(
        "/api/v1/homecare/enrolments",
        json={"person_id": person.id, "provider_id": p.id, "year": YEAR + 1},
        headers=admin_headers,
    )
    assert nxt.status_code == 201


def test_the_year_subsidy_is_set_per_year(client, admin_headers):
    r = client.put(
        f"/api/v1/homecare/subsidy/{YEAR + 1}", json={"amount": "360.00"}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json["amount"] == "360.00"
    e = client.post(
        "/api/v1/homecare/enrolments",
        json={"person_id": elder().id, "provider_id": make_provider().id, "year": YEAR + 1},
        headers=admin_headers,
    )
    assert e.json["ledger"]["allocated"] == "360.00"


def test_a_deceased_person_cannot_be_enrolled(client, admin_headers):
    person = elder()
    client.post(
        f"/api/v1/people/{person.id}/death",
        json={"date": date.today().isoformat()},
        headers=admin_headers,
    )
    r = client.post(
        "/api/v1/homecare/enrolments",
        json={"person_id": person.id, "provider_id": make_provider().id, "year": YEAR},
        headers=admin_headers,
    )
    assert r.status_code == 409


def test_only_the_bureau_enrols(client, world):
    body = {"person_id": elder().id, "provider_id": world.provider.id, "year": YEAR}
    for u in (world.boss, world.worker, f.user("auditor")):
        assert (
            client.post("/api/v1/homecare/enrolments", json=body, headers=f.headers(u)).status_code
            == 403
        )


def test_enrolment_list_filters_and_scope(client, world, admin_headers):
    other_elder = elder("外组", township="510704003")
    enrol(other_elder, world.other)
    h = admin_headers
    assert client.get("/api/v1/homecare/enrolments", headers=h).json["total"] == 2
    r = client.get(f"/api/v1/homecare/enrolments?provider_id={world.other.id}", headers=h)
    assert [i["person_id"] for i in r.json["items"]] == [other_elder.id]
    r = client.get("/api/v1/homecare/enrolments?township_code=510704003", headers=h)
    assert r.json["total"] == 1
    r = client.get(f"/api/v1/homecare/enrolments?year={YEAR + 1}", headers=h)
    assert r.json["total"] == 0
    r = client.get("/api/v1/homecare/enrolments?status=ended", headers=h)
    assert r.json["total"] == 0
    item = client.get("/api/v1/homecare/enrolments", headers=h).json["items"][0]
    assert item["status"] == "active"
    assert item["ledger"] == {"allocated": "300.00", "spent": "0.00", "balance": "300.00"}
    assert "*" in item["person"]["id_number"]
    mine = client.get("/api/v1/homecare/enrolments", headers=f.headers(world.boss)).json
    assert [i["id"] for i in mine["items"]] == [world.enrolment.id]
    other_id = client.get(
        f"/api/v1/homecare/enrolments?provider_id={world.other.id}", headers=h
    ).json["items"][0]["id"]
    for path in (
        f"/api/v1/homecare/enrolments/{other_id}",
        f"/api/v1/homecare/enrolments/{other_id}/ledger",
        f"/api/v1/homecare/enrolments/{other_id}/card.png",
    ):
        assert client.get(path, headers=f.headers(world.boss)).status_code == 404, path
    assert (
        client.get("/api/v1/homecare/enrolments", headers=f.headers(f.user("auditor"))).json[
            "total"
        ]
        == 2
    )


def test_visits_list_filters_and_scope(client, world, admin_headers):
    start = now() - timedelta(hours=5)
    visit(client, world.worker, world.qr, start, 60, [{"code": "clean", "quantity": 1}])
    visit(
        client,
        world.worker,
        world.qr,
        start + timedelta(hours=2),
        3,
        [{"code": "meal", "quantity": 1}],
    )
    month = (start.astimezone(tz=None)).strftime("%Y-%m")
    h = admin_headers
    assert client.get("/api/v1/homecare/visits", headers=h).json["total"] == 2
    r = client.get("/api/v1/homecare/visits?status=flagged", headers=h).json
    assert r["total"] == 1 and r["items"][0]["exceptions"] == ["too_short"]
    assert (
        client.get(f"/api/v1/homecare/visits?provider_id={world.other.id}", headers=h).json["total"]
        == 0
    )
    assert client.get("/api/v1/homecare/visits?month=2001-01", headers=h).json["total"] == 0
    assert client.get(f"/api/v1/homecare/visits?month={month}", headers=h).json["total"] >= 1
    assert client.get("/api/v1/homecare/visits?month=2026-13", headers=h).status_code == 400
    stranger = f.user("provider", provider_id=world.other.id)
    assert client.get("/api/v1/homecare/visits", headers=f.headers(stranger)).json["total"] == 0
    vid = client.get("/api/v1/homecare/visits", headers=h).json["items"][0]["id"]
    assert (
        client.get(f"/api/v1/homecare/visits/{vid}", headers=f.headers(stranger)).status_code == 404
    )
    colleague = f.user("worker", provider_id=world.provider.id)
    assert client.get("/api/v1/homecare/visits", headers=f.headers(colleague)).json["total"] == 0
    assert client.get("/api/v1/homecare/visits", headers=f.headers(world.worker)).json["total"] == 2


def test_provider_admins_see_their_elders_in_the_registry(client, world):
    outsider = elder("不相干")
    r = client.get("/api/v1/people", headers=f.headers(world.boss)).json
    assert [p["id"] for p in r["items"]] == [world.person.id]
    assert (
        client.get(f"/api/v1/people/{outsider.id}", headers=f.headers(world.boss)).status_code
        == 404
    )
    assert client.get("/api/v1/people", headers=f.headers(world.worker)).json["total"] == 0


def test_overview_has_the_homecare_figures(client, world, admin_headers):
    visit(
        client,
        world.worker,
        world.qr,
        now() - timedelta(hours=3),
        65,
        [{"code": "care", "quantity": 1}],
    )
    r = client.get("/api/v1/stats/overview", headers=admin_headers)
    assert r.status_code == 200
    assert r.json["homecare"] == {
        "year": YEAR,
        "enrolled": 1,
        "subsidy_per_person": "300.00",
        "allocated": "300.00",
        "spent": "50.00",
        "visits": 1,
    }
    past = client.get(f"/api/v1/stats/overview?date={YEAR - 1}-06-01", headers=admin_headers)
    assert past.json["homecare"]["enrolled"] == 0 and past.json["homecare"]["spent"] == "0.00"


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_card_images_only_for_the_bureau_and_the_provider(client, world, fmt):
    url = f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.{fmt}"
    assert client.get(url, headers=f.headers(world.boss)).status_code == 200
    assert client.get(url, headers=f.headers(world.worker)).status_code == 403
    assert client.get(url).status_code == 401


def test_openapi_lists_the_homecare_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json
    for path in (
        "/api/v1/homecare/scans",
        "/api/v1/homecare/enrolments",
        "/api/v1/homecare/visits",
        "/api/v1/homecare/services",
    ):
        assert any(p.replace("{", "<").startswith(path) or p == path for p in doc["paths"])


# --- the elder's home point (issue 14.1) ----------------------------------------------------


def _homeless(world, name="新登记老人"):
    person = elder(name)
    person.home_lat = person.home_lng = None
    db.session.commit()
    return person, enrol(person, world.provider)


def test_home_point_proposed_from_the_first_five_located_check_ins(client, world, admin_headers):
    from homecare import cards

    person, e = _homeless(world)
    path = f"/api/v1/homecare/people/{person.id}/home-point"
    qr = cards.url(e)
    # four at the door (a few metres apart), one from the office 3 km away: the median
    # of each coordinate ignores the office; the sixth visit is not among the first five
    spots = [
        (31.46000, 104.79000),
        (31.46003, 104.78996),
        (31.46030, 104.79020),
        (31.45998, 104.79004),
        (31.48700, 104.79000),
        (31.46400, 104.79500),
    ]
    start = now() - timedelta(days=2)
    for i, (la, ln) in enumerate(spots):
        if i == 4:
            assert client.get(path, headers=admin_headers).json["proposal"] is None
        r = visit(
            client,
            world.worker,
            qr,
            start + timedelta(hours=2 * i),
            65,
            [{"code": "care", "quantity": 1}],
            lat=la,
            lng=ln,
        )
        assert "no_home_point" in r.json["exceptions"]
    shown = client.get(path, headers=admin_headers).json
    p = shown["proposal"]
    assert shown["home_lat"] is None and len(p["visit_ids"]) == 5
    assert (float(p["lat"]), float(p["lng"])) == (31.46003, 104.79)
    assert p["spread_m"] > 2900  # the office scan shows in the spread
    # the bureau accepts: the point is set, audited with the proposal
    r = client.post(path, json={}, headers=admin_headers)
    assert r.status_code == 200 and (float(r.json["home_lat"]), float(r.json["home_lng"])) == (
        31.46003,
        104.79,
    )
    assert r.json["proposal"] is None
    log = client.get(f"/api/v1/audit?entity=person&entity_id={person.id}", headers=admin_headers)
    if log.status_code == 200:
        assert "home_point_accepted" in log.text
    # from now on visits are placed: at the door clean, 3 km away far_from_home
    r = visit(
        client,
        world.worker,
        qr,
        now() - timedelta(hours=3),
        65,
        [{"code": "care", "quantity": 1}],
        lat=31.46003,
        lng=104.79002,
    )
    assert r.json["exceptions"] == []
    r = visit(
        client,
        world.worker,
        qr,
        now() - timedelta(hours=1, minutes=30),
        65,
        [{"code": "care", "quantity": 1}],
        lat=31.48700,
        lng=104.79002,
    )
    assert "far_from_home" in r.json["exceptions"]


def test_home_point_corrected_by_the_bureau_and_the_boundaries(client, world, admin_headers):
    from eldercare.models.audit import AuditEntry

    person, _e = _homeless(world)
    path = f"/api/v1/homecare/people/{person.id}/home-point"
    r = client.post(path, json={}, headers=admin_headers)  # nothing to accept yet
    assert r.status_code == 409 and r.json["error"]["code"] == "no_proposal"
    for bad in ({"lat": 31.4}, {"lat": 91, "lng": 104.8}, {"lat": 31.4, "lng": 181}):
        assert client.post(path, json=bad, headers=admin_headers).status_code == 422, bad
    r = client.post(path, json={"lat": 31.4612, "lng": 104.7923}, headers=admin_headers)
    assert r.status_code == 200 and float(r.json["home_lat"]) == 31.4612
    assert db.session.query(AuditEntry).filter_by(action="home_point_entered").count() == 1
    auditor = f.headers(f.user("auditor"))
    assert float(client.get(path, headers=auditor).json["home_lng"]) == 104.7923
    assert client.post(path, json={"lat": 1, "lng": 1}, headers=auditor).status_code == 403
    for user in (world.boss, world.worker):
        assert client.get(path, headers=f.headers(user)).status_code == 403
        assert (
            client.post(path, json={"lat": 1, "lng": 1}, headers=f.headers(user)).status_code == 403
        )
    assert (
        client.get("/api/v1/homecare/people/999999/home-point", headers=admin_headers).status_code
        == 404
    )


def test_the_person_page_panel_offers_the_proposal_to_the_bureau(client, world, admin):
    from homecare import cards
    from tests.factories import csrf, login

    person, e = _homeless(world, "面板老人")
    start = now() - timedelta(days=2)
    for i in range(5):
        visit(
            client,
            world.worker,
            cards.url(e),
            start + timedelta(hours=2 * i),
            65,
            [{"code": "care", "quantity": 1}],
            lat=31.46 + i * 0.00001,
            lng=104.79,
        )
    login(client, admin)
    page = client.get(f"/people/{person.id}")
    assert "建议定位" in page.text and 'data-testid="accept-home-point"' in page.text
    r = client.post(
        f"/homecare/people/{person.id}/home-point",
        data={"csrf_token": csrf(client, f"/people/{person.id}"), "accept": "1"},
    )
    assert r.status_code == 303
    db.session.expire_all()
    assert round(db.session.get(type(person), person.id).home_lat, 5) == 31.46002
    page = client.get(f"/people/{person.id}")
    assert 'data-testid="home-lat">31.460020' in page.text
