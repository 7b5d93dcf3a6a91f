"""The API.md contract for facilities, beds, stays and placement, and its role boundaries."""

from __future__ import annotations

from datetime import date

import pytest

from eldercare.people import services as people
from eldercare.timeutil import local_today
from tests import factories

from .conftest import days_ago

TODAY = local_today().isoformat()


def _admit(client, headers, who, bed_id, start=None):
    """`who` is a person id, or (as a manager names someone outside the home) the full
    ID number."""
    named = {"id_number": who} if isinstance(who, str) else {"person_id": who}
    return client.post(
        "/api/v1/stays",
        json={**named, "bed_id": bed_id, "start_date": start or TODAY},
        headers=headers,
    )


def test_create_and_read_a_facility_with_beds(client, admin_headers):
    r = client.post(
        "/api/v1/facilities",
        json={"name": "魏城镇敬老院", "kind": "care_home", "township_code": "510704104"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.json
    fid = r.json["id"]
    assert (r.json["beds_total"], r.json["beds_occupied"], r.json["occupancy_rate"]) == (
        0,
        0,
        "0.000",
    )
    for code, kind in (("101-1", "nursing"), ("101-2", "ordinary"), ("102-1", "ordinary")):
        r = client.post(
            f"/api/v1/facilities/{fid}/beds",
            json={"code": code, "room": code[:3], "kind": kind},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.json
        assert r.json["status"] == "available" and r.json["person_id"] is None
    r = client.post(
        f"/api/v1/facilities/{fid}/beds",
        json={"code": "101-1", "kind": "nursing"},
        headers=admin_headers,
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "duplicate_bed_code"
    p = factories.person("王德福")
    beds = client.get(f"/api/v1/facilities/{fid}/beds", headers=admin_headers).json["items"]
    bed_id = beds[0]["id"]
    r = _admit(client, admin_headers, p.id, bed_id)
    assert r.status_code == 201
    assert set(r.json) >= {"id", "person_id", "bed_id", "start_date", "end_date"}
    assert (r.json["person_id"], r.json["bed_id"], r.json["start_date"], r.json["end_date"]) == (
        p.id,
        bed_id,
        TODAY,
        None,
    )
    f = client.get(f"/api/v1/facilities/{fid}", headers=admin_headers).json
    assert (f["beds_total"], f["beds_occupied"], f["occupancy_rate"]) == (3, 1, "0.333")
    beds = client.get(f"/api/v1/facilities/{fid}/beds", headers=admin_headers).json["items"]
    assert [(b["status"], b["person_id"]) for b in beds] == [
        ("occupied", p.id),
        ("available", None),
        ("available", None),
    ]
    listing = client.get("/api/v1/facilities?kind=care_home", headers=admin_headers).json
    assert listing["total"] == 1 and listing["items"][0]["beds_occupied"] == 1


def test_facility_input_is_validated(client, admin_headers):
    r = client.post(
        "/api/v1/facilities", json={"name": "X", "kind": "hotel"}, headers=admin_headers
    )
    assert r.status_code == 422 and "kind" in r.json["error"]["fields"]
    r = client.post(
        "/api/v1/facilities",
        json={"name": "X", "kind": "care_home", "township_code": "999"},
        headers=admin_headers,
    )
    assert r.status_code == 422 and "township_code" in r.json["error"]["fields"]


def test_stay_conflicts_are_409_with_their_codes(client, admin_headers, home):
    _f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    assert _admit(client, admin_headers, a.id, beds[0].id).status_code == 201
    r = _admit(client, admin_headers, b.id, beds[0].id)
    assert (r.status_code, r.json["error"]["code"]) == (409, "bed_occupied")
    r = _admit(client, admin_headers, a.id, beds[1].id)
    assert (r.status_code, r.json["error"]["code"]) == (409, "person_in_bed")
    r = client.post(
        f"/api/v1/beds/{beds[2].id}/out-of-service", json={"reason": "维修"}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json["status"] == "out_of_service"
    r = _admit(client, admin_headers, b.id, beds[2].id)
    assert (r.status_code, r.json["error"]["code"]) == (409, "bed_out_of_service")
    assert _admit(client, admin_headers, b.id, 9999).status_code == 404
    assert _admit(client, admin_headers, 9999, beds[1].id).status_code == 404


def test_backdated_overlap_is_409(client, admin_headers, home):
    _f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    sid = _admit(client, admin_headers, a.id, beds[0].id, days_ago(40).isoformat()).json["id"]
    r = client.post(
        f"/api/v1/stays/{sid}/end",
        json={"date": days_ago(20).isoformat(), "reason": "discharged"},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["end_date"] == days_ago(20).isoformat()
    r = _admit(client, admin_headers, b.id, beds[0].id, days_ago(30).isoformat())
    assert (r.status_code, r.json["error"]["code"]) == (409, "bed_occupied")


def test_transfer_end_and_history(client, admin_headers, home):
    _f, beds = home
    a = factories.person("王德福")
    sid = _admit(client, admin_headers, a.id, beds[0].id, days_ago(30).isoformat()).json["id"]
    r = client.post(
        f"/api/v1/stays/{sid}/transfer",
        json={"bed_id": beds[1].id, "date": days_ago(10).isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 200
    new = r.json
    assert (new["bed_id"], new["start_date"], new["end_date"]) == (
        beds[1].id,
        days_ago(10).isoformat(),
        None,
    )
    old = client.get(f"/api/v1/stays/{sid}", headers=admin_headers).json
    assert (old["end_date"], old["end_reason"]) == (days_ago(10).isoformat(), "transferred")
    r = client.post(
        f"/api/v1/stays/{sid}/transfer",
        json={"bed_id": beds[2].id, "date": TODAY},
        headers=admin_headers,
    )
    assert (r.status_code, r.json["error"]["code"]) == (409, "stay_ended")
    b = factories.person("李长林")
    _admit(client, admin_headers, b.id, beds[0].id, days_ago(5).isoformat())
    hist = client.get(f"/api/v1/beds/{beds[0].id}/history", headers=admin_headers).json
    assert [s["person_id"] for s in hist["items"]] == [b.id, a.id]  # newest first
    r = client.get(
        f"/api/v1/beds/{beds[0].id}/occupant?date={days_ago(20).isoformat()}", headers=admin_headers
    )
    assert r.json["stay"]["person_id"] == a.id
    r = client.post(
        f"/api/v1/stays/{new['id']}/end",
        json={"date": TODAY, "reason": "moved"},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["end_reason"] == "moved"
    r = client.post(
        f"/api/v1/stays/{new['id']}/end",
        json={"date": TODAY, "reason": "gone"},
        headers=admin_headers,
    )
    assert r.status_code == 422


def test_end_with_death_records_it_in_the_registry(client, admin_headers, home):
    _f, beds = home
    a = factories.person("王德福")
    sid = _admit(client, admin_headers, a.id, beds[0].id, days_ago(30).isoformat()).json["id"]
    r = client.post(
        f"/api/v1/stays/{sid}/end",
        json={"date": days_ago(1).isoformat(), "reason": "deceased"},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json["end_reason"] == "deceased"
    person = client.get(f"/api/v1/people/{a.id}", headers=admin_headers).json
    assert (person["status"], person["death_date"]) == ("deceased", days_ago(1).isoformat())


def test_registry_death_ends_the_stay(client, admin_headers, home):
    _f, beds = home
    a = factories.person("王德福")
    sid = _admit(client, admin_headers, a.id, beds[0].id, days_ago(30).isoformat()).json["id"]
    r = client.post(
        f"/api/v1/people/{a.id}/death",
        json={"date": days_ago(2).isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 200
    stay = client.get(f"/api/v1/stays/{sid}", headers=admin_headers).json
    assert (stay["end_date"], stay["end_reason"]) == (days_ago(2).isoformat(), "deceased")
    r = _admit(client, admin_headers, a.id, beds[1].id)
    assert (r.status_code, r.json["error"]["code"]) == (409, "person_not_active")


def test_leave_and_return(client, admin_headers, home):
    f, beds = home
    a = factories.person("王德福")
    sid = _admit(client, admin_headers, a.id, beds[0].id, days_ago(30).isoformat()).json["id"]
    r = client.post(
        f"/api/v1/stays/{sid}/leave",
        json={
            "kind": "hospital",
            "start_date": days_ago(3).isoformat(),
            "expected_return": days_ago(1).isoformat(),
        },
        headers=admin_headers,
    )
    assert r.status_code == 201 and r.json["overdue"] is True
    beds_now = client.get(f"/api/v1/facilities/{f.id}/beds", headers=admin_headers).json
    assert beds_now["items"][0]["status"] == "held" and beds_now["items"][0]["person_id"] == a.id
    occ = client.get(f"/api/v1/facilities/{f.id}/occupancy", headers=admin_headers).json
    assert (occ["occupied"], occ["held"]) == (0, 1)
    r = client.post(f"/api/v1/stays/{sid}/return", json={"date": TODAY}, headers=admin_headers)
    assert r.status_code == 200 and r.json["returned_on"] == TODAY
    r = client.post(f"/api/v1/stays/{sid}/return", json={"date": TODAY}, headers=admin_headers)
    assert (r.status_code, r.json["error"]["code"]) == (409, "not_on_leave")


def test_overview_counts_facilities_and_beds_on_any_date(client, admin_headers, home):
    _f, beds = home
    a = factories.person("王德福")
    sid = _admit(client, admin_headers, a.id, beds[0].id, "2025-01-01").json["id"]
    client.post(
        f"/api/v1/stays/{sid}/end",
        json={"date": "2025-06-01", "reason": "discharged"},
        headers=admin_headers,
    )
    now = client.get("/api/v1/stats/overview", headers=admin_headers).json
    assert now["facilities"]["care_home"] == 1
    assert now["beds"]["care_home"] == now["beds"]["care_home"] | {"total": 3, "occupied": 0}
    assert (now["beds"]["total"], now["beds"]["available"]) == (3, 3)
    past = client.get("/api/v1/stats/overview?date=2025-03-01", headers=admin_headers).json
    assert past["date"] == "2025-03-01"
    assert past["beds"]["occupied"] == 1 and past["beds"]["care_home"]["occupied"] == 1


def test_placement_options_and_place(client, admin_headers, home):
    a = factories.person("王德福", township_code="510704104", care_level="partial")
    people.start_wubao(a, "elderly", "dispersed", date(2020, 1, 1), days_ago(5))
    from eldercare.extensions import db

    db.session.commit()
    r = client.get(f"/api/v1/people/{a.id}/placement-options", headers=admin_headers)
    assert r.status_code == 200
    items = r.json["items"]
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    assert items[0]["same_township"] is True and items[0]["reasons"][0].startswith("同乡镇")
    r = client.post(
        "/api/v1/placements",
        json={"person_id": a.id, "bed_id": items[0]["bed_id"]},
        headers=admin_headers,
    )
    assert r.status_code == 201
    person = client.get(f"/api/v1/people/{a.id}", headers=admin_headers).json
    assert person["wubao"]["support"] == "centralized" and person["wubao"]["since"] == TODAY


def test_census_and_attendance_endpoints(client, admin_headers, home):
    f, _beds = home
    r = client.post(f"/api/v1/facilities/{f.id}/census", json={}, headers=admin_headers)
    assert r.status_code == 201 and r.json["user"] == "admin"
    r = client.post(f"/api/v1/facilities/{f.id}/census", json={}, headers=admin_headers)
    assert (r.status_code, r.json["error"]["code"]) == (409, "census_confirmed")
    centre = client.post(
        "/api/v1/facilities",
        json={"name": "魏城镇老年人日间照料中心", "kind": "day_care"},
        headers=admin_headers,
    ).json
    a = factories.person("王德福")
    r = client.post(
        f"/api/v1/facilities/{centre['id']}/attendance",
        json={"person_id": a.id, "day": TODAY, "arrived_at": f"{TODAY}T08:30:00+08:00"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    r = client.post(
        f"/api/v1/facilities/{centre['id']}/attendance",
        json={"person_id": a.id, "day": TODAY, "left_at": f"{TODAY}T16:30:00+08:00"},
        headers=admin_headers,
    )
    assert r.json["left_at"] is not None
    listing = client.get(f"/api/v1/facilities/{centre['id']}/attendance", headers=admin_headers)
    assert listing.json["total"] == 1


# --- role boundaries, both ways ------------------------------------------------------


def test_manager_works_in_own_home_only(client, home, other_home, manager_headers):
    f, beds = home
    g, other_beds = other_home
    a, b = factories.person("王德福"), factories.person("李长林")
    assert _admit(client, manager_headers, a.id_number, beds[0].id).status_code == 201
    r = _admit(client, manager_headers, b.id_number, other_beds[0].id)
    assert (r.status_code, r.json["error"]["code"]) == (403, "not_own_facility")
    assert client.get(f"/api/v1/facilities/{f.id}", headers=manager_headers).status_code == 200
    assert client.get(f"/api/v1/facilities/{g.id}", headers=manager_headers).status_code == 404
    assert client.get(f"/api/v1/facilities/{g.id}/beds", headers=manager_headers).status_code == 404
    assert (
        client.get(f"/api/v1/beds/{other_beds[0].id}/history", headers=manager_headers).status_code
        == 404
    )
    listing = client.get("/api/v1/facilities", headers=manager_headers).json
    assert [i["id"] for i in listing["items"]] == [f.id]
    r = client.post(f"/api/v1/facilities/{g.id}/beds", json={"code": "X1"}, headers=manager_headers)
    assert r.status_code == 404
    r = client.post(f"/api/v1/facilities/{f.id}/beds", json={"code": "X1"}, headers=manager_headers)
    assert r.status_code == 201


def test_manager_cannot_touch_another_homes_stay(
    client, admin_headers, home, other_home, manager_headers
):
    _f, beds = home
    _g, other_beds = other_home
    a = factories.person("王德福")
    sid = _admit(client, admin_headers, a.id, other_beds[0].id).json["id"]
    for path, body in (
        (f"/api/v1/stays/{sid}/end", {"date": TODAY, "reason": "discharged"}),
        (f"/api/v1/stays/{sid}/transfer", {"bed_id": beds[0].id, "date": TODAY}),
        (
            f"/api/v1/stays/{sid}/leave",
            {"kind": "hospital", "start_date": TODAY, "expected_return": TODAY},
        ),
    ):
        assert client.post(path, json=body, headers=manager_headers).status_code == 404
    assert client.get(f"/api/v1/stays/{sid}", headers=manager_headers).status_code == 404
    # and the resident is not in the manager's people scope either
    assert client.get(f"/api/v1/people/{a.id}", headers=manager_headers).status_code == 404


def test_manager_sees_residents_of_own_home(client, home, manager_headers):
    _f, beds = home
    a = factories.person("王德福")
    _admit(client, manager_headers, a.id_number, beds[0].id)
    assert client.get(f"/api/v1/people/{a.id}", headers=manager_headers).status_code == 200


def test_manager_requests_a_transfer_between_homes_the_bureau_approves(
    client, admin_headers, home, other_home, manager_headers
):
    _f, beds = home
    _g, other_beds = other_home
    a = factories.person("王德福")
    sid = _admit(client, manager_headers, a.id_number, beds[0].id, days_ago(9).isoformat()).json[
        "id"
    ]
    r = client.post(
        "/api/v1/transfer-requests",
        json={"stay_id": sid, "bed_id": other_beds[0].id, "date": TODAY},
        headers=manager_headers,
    )
    assert r.status_code == 201 and r.json["status"] == "pending"
    rid = r.json["id"]
    assert (
        client.post(
            f"/api/v1/transfer-requests/{rid}/approve", json={}, headers=manager_headers
        ).status_code
        == 403
    )
    r = client.post(f"/api/v1/transfer-requests/{rid}/approve", json={}, headers=admin_headers)
    assert r.status_code == 200 and r.json["status"] == "approved" and r.json["new_stay_id"]
    r = client.post(f"/api/v1/transfer-requests/{rid}/reject", json={}, headers=admin_headers)
    assert (r.status_code, r.json["error"]["code"]) == (409, "already_decided")


@pytest.mark.parametrize("role", ["provider", "worker", "auditor"])
def test_other_roles_cannot_write(client, home, role):
    from eldercare.extensions import db

    _f, beds = home
    u = factories.user("auditor") if role == "auditor" else _provider_user(role)
    db.session.commit()
    h = factories.headers(u)
    a = factories.person("王德福")
    assert _admit(client, h, a.id, beds[0].id).status_code == 403
    assert (
        client.post(
            "/api/v1/facilities", json={"name": "X", "kind": "care_home"}, headers=h
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/facilities/{beds[0].facility_id}/beds", json={"code": "Z"}, headers=h
        ).status_code
        == 403
    )
    reading = client.get("/api/v1/facilities", headers=h).status_code
    assert reading == (200 if role == "auditor" else 403)


def _provider_user(role: str):
    """A provider/worker account, if the homecare feature's providers exist yet."""
    try:
        from homecare import services as hc  # noqa: F401
        from homecare.models import Provider
    except ImportError:
        pytest.skip("no provider model yet")
    from eldercare.extensions import db

    p = Provider(name=f"测试服务组织{role}")
    db.session.add(p)
    db.session.flush()
    return factories.user(role, provider_id=p.id)


def test_unauthenticated_is_401(client, home):
    assert client.get("/api/v1/facilities").status_code == 401
    assert client.post("/api/v1/stays", json={}).status_code == 401


def test_openapi_lists_the_contract(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for p in (
        "/api/v1/facilities",
        "/api/v1/stays",
        "/api/v1/beds/{bed_id}/history",
        "/api/v1/people/{person_id}/placement-options",
    ):
        assert p in paths, p


def test_reservation_endpoint(client, admin_headers, home):
    _f, beds = home
    a = factories.person("王德福")
    r = client.post(
        f"/api/v1/beds/{beds[0].id}/reservation", json={"person_id": a.id}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json["status"] == "reserved"
    r = client.post(
        f"/api/v1/beds/{beds[0].id}/reservation", json={"person_id": None}, headers=admin_headers
    )
    assert r.json["status"] == "available"
