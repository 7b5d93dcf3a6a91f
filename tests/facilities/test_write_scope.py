"""Issue 13.2: a manager's write does not widen what the manager may read.

A manager names a person outside the home's scope only by the full ID number (typed at
the desk from the card: proof the manager holds it already) or through a bureau
placement (the 特困 waiting list, a bed the bureau reserved). A bare `person_id` outside
scope is 404, on the page and the API, and a refused write about such a person says no
more than "not found" (not that they died, moved away or lie in another home's bed).
"""

from __future__ import annotations

from datetime import date

import pytest

from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import local_today
from facilities import services
from tests import factories

from .conftest import days_ago, make_home

TODAY = local_today().isoformat()
LEAKS = ("去世", "迁出", "已有床位", "床位", "出生")


@pytest.fixture
def centre(app):
    f, _ = make_home("魏城镇老年人日间照料中心", beds=0, kind="day_care")
    return f


@pytest.fixture
def centre_manager(centre):
    return factories.user("manager", facility_id=centre.id)


def _stranger(name="王德福", health="糖尿病，每日注射胰岛素"):
    return factories.person(name, health_notes=health)


def _attend(client, user, facility_id, **who):
    return client.post(
        f"/api/v1/facilities/{facility_id}/attendance",
        json={**who, "day": TODAY, "arrived_at": f"{TODAY}T08:30:00+08:00"},
        headers=factories.headers(user),
    )


def _admit(client, user, bed_id, start=None, **who):
    return client.post(
        "/api/v1/stays",
        json={**who, "bed_id": bed_id, "start_date": start or TODAY},
        headers=factories.headers(user),
    )


def _read(client, user, person_id):
    return client.get(f"/api/v1/people/{person_id}", headers=factories.headers(user))


def _says_only_not_found(r) -> None:
    assert r.status_code == 404, r.text
    message = r.json["error"]["message"] + str(r.json["error"].get("fields") or "")
    assert not any(word in message for word in LEAKS), message


# --- attendance, API --------------------------------------------------------------------


def test_attendance_by_a_bare_id_outside_scope_is_404_and_reads_nothing(
    client, centre, centre_manager
):
    stranger = _stranger()
    _says_only_not_found(_attend(client, centre_manager, centre.id, person_id=stranger.id))
    r = _read(client, centre_manager, stranger.id)
    assert r.status_code == 404 and "糖尿病" not in r.text and stranger.id_number not in r.text


def test_attendance_by_the_full_id_number_brings_the_person_into_scope(
    client, centre, centre_manager
):
    stranger = _stranger()
    r = _attend(client, centre_manager, centre.id, id_number=stranger.id_number)
    assert r.status_code == 200, r.text
    assert r.json["person_id"] == stranger.id
    r = _read(client, centre_manager, stranger.id)
    assert r.status_code == 200 and r.json["id_number"] == stranger.id_number
    # a regular of the centre is named by their id from then on
    r = _attend(client, centre_manager, centre.id, person_id=stranger.id)
    assert r.status_code == 200, r.text


def test_attendance_takes_one_way_of_naming_the_person(client, centre, centre_manager):
    stranger = _stranger()
    r = _attend(client, centre_manager, centre.id)
    assert r.status_code == 422
    r = _attend(
        client, centre_manager, centre.id, person_id=stranger.id, id_number=stranger.id_number
    )
    assert r.status_code == 422


def test_attendance_by_an_unknown_or_malformed_number(client, centre, centre_manager):
    from tests.factories import new_id_number

    _says_only_not_found(
        _attend(client, centre_manager, centre.id, id_number=new_id_number(date(1950, 1, 2)))
    )
    r = _attend(client, centre_manager, centre.id, id_number="510704")
    assert r.status_code == 422 and "id_number" in r.json["error"]["fields"]


@pytest.mark.parametrize("fate", ["dead", "moved"])
def test_a_refused_attendance_for_a_stranger_says_only_not_found(
    client, centre, centre_manager, fate
):
    stranger = _stranger()
    if fate == "dead":
        people.record_death(stranger, days_ago(5))
    else:
        people.record_move(stranger, days_ago(5))
    db.session.commit()
    _says_only_not_found(_attend(client, centre_manager, centre.id, id_number=stranger.id_number))


def test_a_regular_who_died_is_told_as_such(client, centre, centre_manager):
    """Inside scope the manager already reads the person: the reason is given."""
    regular = _stranger()
    services.record_attendance(centre, regular, days_ago(3))
    people.record_death(regular, days_ago(1))
    db.session.commit()
    r = _attend(client, centre_manager, centre.id, person_id=regular.id)
    assert r.status_code == 409 and r.json["error"]["code"] == "person_not_active"


def test_the_bureau_still_names_anyone_by_id(client, admin_headers, centre):
    stranger = _stranger()
    r = client.post(
        f"/api/v1/facilities/{centre.id}/attendance",
        json={"person_id": stranger.id, "day": TODAY},
        headers=admin_headers,
    )
    assert r.status_code == 200


# --- admissions, API --------------------------------------------------------------------


def test_an_admission_by_a_bare_id_outside_scope_is_404(client, home, manager):
    _f, beds = home
    stranger = _stranger()
    _says_only_not_found(_admit(client, manager, beds[0].id, person_id=stranger.id))
    assert services.open_stay_of(stranger.id) is None
    assert _read(client, manager, stranger.id).status_code == 404


def test_an_admission_by_the_full_id_number(client, home, manager):
    _f, beds = home
    stranger = _stranger()
    r = _admit(client, manager, beds[0].id, id_number=stranger.id_number)
    assert r.status_code == 201, r.text
    assert r.json["person_id"] == stranger.id
    assert _read(client, manager, stranger.id).json["id_number"] == stranger.id_number


def test_an_admission_from_the_bureaus_waiting_list_by_id(client, home, manager):
    _f, beds = home
    applicant = _stranger()
    people.start_wubao(
        applicant, "elderly", "dispersed", date(2024, 1, 1), applied_centralized_on=days_ago(30)
    )
    db.session.commit()
    r = _admit(client, manager, beds[0].id, person_id=applicant.id)
    assert r.status_code == 201, r.text


def test_an_admission_into_a_bed_the_bureau_reserved(client, admin_headers, home, manager):
    _f, beds = home
    arranged = _stranger()
    r = client.post(
        f"/api/v1/beds/{beds[1].id}/reservation",
        json={"person_id": arranged.id},
        headers=admin_headers,
    )
    assert r.status_code == 200
    _says_only_not_found(_admit(client, manager, beds[0].id, person_id=arranged.id))
    r = _admit(client, manager, beds[1].id, person_id=arranged.id)
    assert r.status_code == 201, r.text


def test_a_refused_admission_of_a_stranger_in_another_home_says_only_not_found(
    client, home, other_home, manager
):
    _f, beds = home
    _g, other_beds = other_home
    elsewhere = _stranger()
    services.admit(elsewhere, other_beds[0], days_ago(10))
    db.session.commit()
    r = _admit(client, manager, beds[0].id, id_number=elsewhere.id_number)
    _says_only_not_found(r)
    assert other_beds[0].code not in r.text


def test_a_dead_stranger_and_a_date_before_birth_say_only_not_found(client, home, manager):
    _f, beds = home
    dead = _stranger()
    people.record_death(dead, days_ago(5))
    young = factories.person("李长林", birth=date(1960, 5, 6))
    db.session.commit()
    _says_only_not_found(_admit(client, manager, beds[0].id, id_number=dead.id_number))
    _says_only_not_found(
        _admit(client, manager, beds[0].id, start="1960-05-01", id_number=young.id_number)
    )


def test_a_former_resident_in_another_bed_is_told_as_such(client, home, manager):
    """Someone who lived in this home is in the manager's scope: detail is fine."""
    _f, beds = home
    resident = _stranger()
    services.admit(resident, beds[1], days_ago(10))
    db.session.commit()
    r = _admit(client, manager, beds[0].id, person_id=resident.id)
    assert r.status_code == 409 and r.json["error"]["code"] == "person_in_bed"


def test_a_reservation_by_a_bare_id_outside_scope_is_404(client, home, manager):
    _f, beds = home
    stranger = _stranger()
    r = client.post(
        f"/api/v1/beds/{beds[0].id}/reservation",
        json={"person_id": stranger.id},
        headers=factories.headers(manager),
    )
    _says_only_not_found(r)
    r = client.post(
        f"/api/v1/beds/{beds[0].id}/reservation",
        json={"id_number": stranger.id_number},
        headers=factories.headers(manager),
    )
    assert r.status_code == 200 and r.json["reserved_for_id"] == stranger.id


# --- pages ------------------------------------------------------------------------------


def test_attendance_page_refuses_a_bare_id_outside_scope(client, centre, centre_manager):
    stranger = _stranger()
    factories.login(client, centre_manager)
    token = factories.csrf(client, f"/facilities/{centre.id}/attendance")
    r = client.post(
        f"/facilities/{centre.id}/attendance",
        data={"csrf_token": token, "id_number": str(stranger.id), "action": "arrive"},
    )
    assert r.status_code == 404
    person_page = client.get(f"/people/{stranger.id}")
    assert person_page.status_code == 404 and stranger.name not in person_page.text
    r = client.post(
        f"/facilities/{centre.id}/attendance",
        data={"csrf_token": token, "id_number": stranger.id_number, "action": "arrive"},
    )
    assert r.status_code == 303
    assert client.get(f"/people/{stranger.id}").status_code == 200


def test_attendance_page_for_a_dead_stranger_says_only_not_found(client, centre, centre_manager):
    stranger = _stranger()
    people.record_death(stranger, days_ago(5))
    db.session.commit()
    factories.login(client, centre_manager)
    token = factories.csrf(client, f"/facilities/{centre.id}/attendance")
    r = client.post(
        f"/facilities/{centre.id}/attendance",
        data={"csrf_token": token, "id_number": stranger.id_number, "action": "arrive"},
        headers={"Referer": f"/facilities/{centre.id}/attendance"},
    )
    assert r.status_code == 404 and "去世" not in r.text


def test_admit_page_refuses_a_bare_id_outside_scope(client, home, manager):
    f, beds = home
    stranger = _stranger()
    factories.login(client, manager)
    token = factories.csrf(client, f"/facilities/{f.id}/beds/{beds[0].id}")
    r = client.post(
        f"/facilities/{f.id}/beds/{beds[0].id}/admit",
        data={"csrf_token": token, "person_id": str(stranger.id), "start_date": TODAY},
    )
    assert r.status_code == 404
    assert services.open_stay_of(stranger.id) is None


def test_admit_page_for_a_stranger_in_another_home_says_only_not_found(
    client, home, other_home, manager
):
    f, beds = home
    _g, other_beds = other_home
    elsewhere = _stranger()
    services.admit(elsewhere, other_beds[0], days_ago(10))
    db.session.commit()
    factories.login(client, manager)
    token = factories.csrf(client, f"/facilities/{f.id}/beds/{beds[0].id}")
    r = client.post(
        f"/facilities/{f.id}/beds/{beds[0].id}/admit",
        data={"csrf_token": token, "id_number": elsewhere.id_number, "start_date": TODAY},
        headers={"Referer": f"/facilities/{f.id}"},
    )
    assert r.status_code == 404
    page = client.get(f"/facilities/{f.id}").text
    assert "已有床位" not in page and other_beds[0].code + "）" not in page
