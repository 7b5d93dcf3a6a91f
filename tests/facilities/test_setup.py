"""Setting homes up from the pages and the API (issue 17.2): the bureau adds, edits and
closes facilities (closed only when empty); a manager adds and edits the rooms and beds of
their own home, never another's; a bed out of service needs a reason and shows on the
board; every change is in the audit log."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import AuditEntry
from eldercare.timeutil import local_today
from facilities import services
from facilities.models import Bed, Facility, Room
from tests import factories

from .conftest import days_ago, make_home

TODAY = local_today().isoformat()


def _audited(entity: str, entity_id: int) -> list[dict]:
    return [
        e.changes or {}
        for e in db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id)
            )
        )
    ]


# --- the bureau: facilities ------------------------------------------------------


def test_the_bureau_adds_edits_and_closes_a_facility_on_its_pages(client, admin):
    factories.login(client, admin)
    index = client.get("/facilities").text
    assert 'href="/facilities/new"' in index and "POST /api/v1" not in index
    token = factories.csrf(client, "/facilities/new")
    r = client.post(
        "/facilities/new",
        data={
            "csrf_token": token,
            "name": "新桥镇敬老院",
            "kind": "care_home",
            "township_code": "510704104",
            "address": "新桥街 1 号",
            "capacity": "40",
            "opened_on": "2020-01-01",
        },
    )
    assert r.status_code == 303, r.text
    f = db.session.scalar(sa.select(Facility).where(Facility.name == "新桥镇敬老院"))
    assert r.headers["Location"].endswith(f"/facilities/{f.id}/setup")
    board = client.get(f"/facilities/{f.id}").text
    assert "尚无床位" in board and f'href="/facilities/{f.id}/setup"' in board
    assert "POST /api/v1" not in board
    r = client.post(
        f"/facilities/{f.id}/edit",
        data={
            "csrf_token": token,
            "name": "新桥镇中心敬老院",
            "township_code": "510704104",
            "address": "新桥街 2 号",
            "capacity": "60",
            "opened_on": "2020-01-01",
        },
    )
    assert r.status_code == 303
    db.session.expire_all()
    f = db.session.get(Facility, f.id)
    assert (f.name, f.address, f.capacity, f.kind.value) == (
        "新桥镇中心敬老院",
        "新桥街 2 号",
        60,
        "care_home",
    )
    assert any("name" in c for c in _audited("facilities", f.id))
    r = client.post(f"/facilities/{f.id}/close", data={"csrf_token": token, "date": TODAY})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Facility, f.id).closed_on == local_today()
    assert {"closed_on": [None, TODAY]} in _audited("facilities", f.id)
    assert "已于" in client.get("/facilities").text  # the list says it is closed


def test_a_home_with_anyone_in_it_is_not_closed_and_says_why(client, admin, home):
    f, beds = home
    services.admit(factories.person("王德福"), beds[0], days_ago(5))
    db.session.commit()
    factories.login(client, admin)
    token = factories.csrf(client, f"/facilities/{f.id}/edit")
    r = client.post(
        f"/facilities/{f.id}/close",
        data={"csrf_token": token, "date": TODAY},
        headers={"Referer": f"/facilities/{f.id}/edit"},
    )
    assert r.status_code == 303
    page = client.get(f"/facilities/{f.id}/edit").text
    assert "仍有 1 人入住" in page
    db.session.expire_all()
    assert db.session.get(Facility, f.id).closed_on is None
    # the API says the same, with its code
    h = factories.headers(admin)
    r = client.post(f"/api/v1/facilities/{f.id}/close", json={}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "facility_not_empty"
    # back-dated: someone who left after that day was still there
    stay = services.stays_on(local_today(), f.id)[0]
    services.end_stay(stay, days_ago(1), "discharged")
    db.session.commit()
    r = client.post(
        f"/api/v1/facilities/{f.id}/close", json={"date": days_ago(3).isoformat()}, headers=h
    )
    assert r.status_code == 409, r.json
    r = client.post(f"/api/v1/facilities/{f.id}/close", json={"date": TODAY}, headers=h)
    assert r.status_code == 200 and r.json["closed_on"] == TODAY


def test_a_reserved_bed_keeps_a_home_open(client, admin, home):
    f, beds = home
    services.reserve_bed(beds[1], factories.person("李秀英", sex="F"))
    db.session.commit()
    r = client.post(f"/api/v1/facilities/{f.id}/close", json={}, headers=factories.headers(admin))
    assert r.status_code == 409 and r.json["error"]["code"] == "facility_has_reservations"
    services.unreserve_bed(db.session.get(Bed, beds[1].id))
    db.session.commit()
    r = client.post(f"/api/v1/facilities/{f.id}/close", json={}, headers=factories.headers(admin))
    assert r.status_code == 200


def test_a_closed_home_takes_nobody_and_leaves_the_figures(client, admin, home):
    f, beds = home
    h = factories.headers(admin)
    assert client.post(f"/api/v1/facilities/{f.id}/close", json={}, headers=h).status_code == 200
    p = factories.person("王德福")
    r = client.post(
        "/api/v1/stays",
        json={"person_id": p.id, "bed_id": beds[0].id, "start_date": TODAY},
        headers=h,
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "facility_closed"
    r = client.post(f"/api/v1/facilities/{f.id}/beds", json={"code": "99"}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "facility_closed"
    again = client.post(f"/api/v1/facilities/{f.id}/close", json={}, headers=h)
    assert again.status_code == 409 and again.json["error"]["code"] == "facility_closed"
    o = client.get("/api/v1/stats/overview", headers=h).json
    assert o["facilities"]["care_home"] == 0 and o["beds"]["care_home"]["total"] == 0


def test_the_api_edits_a_facility_for_the_bureau_only(client, admin, home, manager):
    f, _beds = home
    r = client.patch(
        f"/api/v1/facilities/{f.id}",
        json={"address": "魏城镇正街 8 号"},
        headers=factories.headers(admin),
    )
    assert r.status_code == 200 and r.json["address"] == "魏城镇正街 8 号"
    mh = factories.headers(manager)
    assert (
        client.patch(f"/api/v1/facilities/{f.id}", json={"address": "x"}, headers=mh).status_code
        == 403
    )
    assert client.post(f"/api/v1/facilities/{f.id}/close", json={}, headers=mh).status_code == 403
    auditor = factories.headers(factories.user("auditor"))
    assert (
        client.patch(
            f"/api/v1/facilities/{f.id}", json={"address": "x"}, headers=auditor
        ).status_code
        == 403
    )


def test_a_manager_cannot_reach_the_bureaus_facility_pages(client, home, manager):
    f, _beds = home
    factories.login(client, manager)
    assert client.get("/facilities/new").status_code == 403
    assert client.get(f"/facilities/{f.id}/edit").status_code == 403
    token = factories.csrf(client, f"/facilities/{f.id}")
    r = client.post(f"/facilities/{f.id}/close", data={"csrf_token": token, "date": TODAY})
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Facility, f.id).closed_on is None
    assert 'href="/facilities/new"' not in client.get("/facilities").text


# --- a manager: rooms and beds of their own home ----------------------------------


def test_a_manager_sets_up_rooms_and_beds_of_their_home(client, home, manager):
    f, _beds = home
    factories.login(client, manager)
    page = client.get(f"/facilities/{f.id}/setup")
    assert page.status_code == 200 and 'data-testid="add-bed"' in page.text
    token = factories.csrf(client, f"/facilities/{f.id}/setup")
    r = client.post(
        f"/facilities/{f.id}/rooms", data={"csrf_token": token, "new-code": "R9", "new-sex": "F"}
    )
    assert r.status_code == 303
    room = db.session.scalar(sa.select(Room).where(Room.facility_id == f.id, Room.code == "R9"))
    assert room.sex.value == "F"
    r = client.post(
        f"/facilities/{f.id}/beds",
        data={"csrf_token": token, "code": "91", "room_id": str(room.id), "kind": "nursing"},
    )
    assert r.status_code == 303
    bed = db.session.scalar(sa.select(Bed).where(Bed.facility_id == f.id, Bed.code == "91"))
    assert bed.room_id == room.id and bed.kind.value == "nursing"
    r = client.post(
        f"/facilities/{f.id}/beds/{bed.id}/edit",
        data={"csrf_token": token, "code": "91A", "room_id": "0", "kind": "ordinary"},
    )
    assert r.status_code == 303
    db.session.expire_all()
    bed = db.session.get(Bed, bed.id)
    assert (bed.code, bed.room_id, bed.kind.value) == ("91A", None, "ordinary")
    r = client.post(
        f"/facilities/{f.id}/rooms/{room.id}",
        data={"csrf_token": token, f"room{room.id}-code": "R10", f"room{room.id}-sex": "mixed"},
    )
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Room, room.id).code == "R10"
    assert _audited("beds", bed.id) and _audited("rooms", room.id)
    board = client.get(f"/facilities/{f.id}").text
    assert "91A" in board


def test_a_manager_never_sets_up_another_home(client, home, other_home, manager):
    g, other_beds = other_home
    factories.login(client, manager)
    assert client.get(f"/facilities/{g.id}/setup").status_code == 404
    token = factories.csrf(client, "/facilities")
    r = client.post(
        f"/facilities/{g.id}/beds",
        data={"csrf_token": token, "code": "77", "room_id": "0", "kind": "ordinary"},
    )
    assert r.status_code == 404
    r = client.post(
        f"/facilities/{g.id}/beds/{other_beds[0].id}/edit",
        data={"csrf_token": token, "code": "77", "room_id": "0", "kind": "nursing"},
    )
    assert r.status_code == 404
    room_id = other_beds[0].room_id
    r = client.post(
        f"/facilities/{g.id}/rooms/{room_id}",
        data={"csrf_token": token, f"room{room_id}-code": "X", f"room{room_id}-sex": "F"},
    )
    assert r.status_code == 404
    mh = factories.headers(manager)
    assert (
        client.post(f"/api/v1/facilities/{g.id}/rooms", json={"code": "X"}, headers=mh).status_code
        == 404
    )
    assert (
        client.patch(
            f"/api/v1/beds/{other_beds[0].id}", json={"kind": "nursing"}, headers=mh
        ).status_code
        == 404
    )
    assert (
        client.patch(f"/api/v1/rooms/{room_id}", json={"sex": "F"}, headers=mh).status_code == 404
    )
    db.session.expire_all()
    assert db.session.get(Bed, other_beds[0].id).kind.value == "ordinary"
    assert db.session.scalar(sa.select(sa.func.count(Bed.id)).where(Bed.facility_id == g.id)) == 3


def test_rooms_and_beds_through_the_api(client, home, manager, admin):
    f, beds = home
    mh = factories.headers(manager)
    r = client.post(f"/api/v1/facilities/{f.id}/rooms", json={"code": "R7", "sex": "M"}, headers=mh)
    assert r.status_code == 201 and r.json["sex"] == "M"
    room_id = r.json["id"]
    dup = client.post(f"/api/v1/facilities/{f.id}/rooms", json={"code": "R7"}, headers=mh)
    assert dup.status_code == 409 and dup.json["error"]["code"] == "duplicate_room_code"
    r = client.patch(
        f"/api/v1/beds/{beds[0].id}", json={"room_id": room_id, "kind": "nursing"}, headers=mh
    )
    assert r.status_code == 200 and (r.json["room"], r.json["kind"]) == ("R7", "nursing")
    dup = client.patch(f"/api/v1/beds/{beds[0].id}", json={"code": "02"}, headers=mh)
    assert dup.status_code == 409 and dup.json["error"]["code"] == "duplicate_bed_code"
    rooms = client.get(f"/api/v1/facilities/{f.id}/rooms", headers=mh).json
    assert "R7" in [r["code"] for r in rooms["items"]] and rooms["total"] == 3
    # a room for women only is refused while a man lives in it
    services.admit(factories.person("王德福"), db.session.get(Bed, beds[0].id), days_ago(2))
    db.session.commit()
    r = client.patch(f"/api/v1/rooms/{room_id}", json={"sex": "F"}, headers=mh)
    assert r.status_code == 409 and r.json["error"]["code"] == "room_sex_conflict"
    # the auditor reads, never writes
    auditor = factories.headers(factories.user("auditor"))
    assert client.get(f"/api/v1/facilities/{f.id}/rooms", headers=auditor).status_code == 200
    assert (
        client.post(
            f"/api/v1/facilities/{f.id}/rooms", json={"code": "Z"}, headers=auditor
        ).status_code
        == 403
    )


# --- a bed out of service ------------------------------------------------------------


def test_a_bed_out_of_service_needs_a_reason_and_shows_on_the_board(client, home, manager):
    f, beds = home
    factories.login(client, manager)
    token = factories.csrf(client, f"/facilities/{f.id}/beds/{beds[2].id}")
    r = client.post(
        f"/beds/{beds[2].id}/out-of-service",
        data={"csrf_token": token, "date": TODAY, "reason": ""},
        headers={"Referer": f"/facilities/{f.id}/beds/{beds[2].id}"},
    )
    assert r.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Bed, beds[2].id).out_of_service
    r = client.post(
        f"/api/v1/beds/{beds[2].id}/out-of-service",
        json={"reason": " "},
        headers=factories.headers(manager),
    )
    assert r.status_code == 422
    yesterday = days_ago(1)
    r = client.post(
        f"/beds/{beds[2].id}/out-of-service",
        data={"csrf_token": token, "date": yesterday.isoformat(), "reason": "卫生间漏水维修"},
    )
    assert r.status_code == 303
    board = client.get(f"/facilities/{f.id}").text
    assert 'data-status="out_of_service"' in board and "卫生间漏水维修" in board
    assert f"{yesterday.month}" in board
    occ = client.get(
        f"/api/v1/facilities/{f.id}/occupancy", headers=factories.headers(manager)
    ).json
    assert (occ["out_of_service"], occ["available"], occ["total"]) == (1, 2, 3)
    assert any(c.get("out_of_service") == [False, True] for c in _audited("beds", beds[2].id))
    r = client.post(f"/beds/{beds[2].id}/in-service", data={"csrf_token": token, "date": TODAY})
    assert r.status_code == 303
    assert 'data-status="out_of_service"' not in client.get(f"/facilities/{f.id}").text


def test_nursing_share_against_the_target_per_home_and_district(client, admin):
    make_home("魏城镇敬老院", beds=4, nursing=3)  # 75%: meets the 55% target
    make_home("石马镇中心敬老院", beds=4, nursing=1, township="510704101")  # 25%: below
    h = factories.headers(admin)
    care = client.get("/api/v1/stats/overview", headers=h).json["beds"]["care_home"]
    assert (care["nursing_share"], care["nursing_target"]) == ("0.500", "0.550")
    assert care["nursing_target_met"] is False
    factories.login(client, admin)
    page = client.get("/facilities/occupancy").text
    assert "75.0%" in page and "25.0%" in page and "低于目标" in page
    assert "低于 55.0% 目标" in page
    dashboard = client.get("/").text
    assert "护理型床位占比 50.0%（目标 55.0%）" in dashboard


def test_a_managers_home_page_shows_the_nursing_share(client, app):
    f, _beds = make_home(beds=4, nursing=3)
    mgr = factories.user("manager", facility_id=f.id)
    factories.login(client, mgr)
    page = client.get("/").text
    assert "护理型床位 3 张，占 75.0%（国家目标 55.0%）" in page and "达标" in page
