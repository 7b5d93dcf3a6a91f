"""Pages: bed board, bed actions, placement, occupancy dashboard, attendance, exports."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import local_today
from facilities import services
from facilities.models import CensusConfirmation, TransferRequest
from tests import factories

from .conftest import days_ago, make_home

TODAY = local_today().isoformat()


def _no_inline(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert " style=" not in html, "inline style"


def test_manager_admits_transfers_records_leave_and_discharges_on_the_board(client, home):
    f, beds = home
    mgr = factories.user("manager", facility_id=f.id)
    a = factories.person("王德福", id_number=None)
    factories.login(client, mgr)
    board = client.get(f"/facilities/{f.id}")
    assert board.status_code == 200 and "空闲" in board.text
    _no_inline(board.text)
    page = client.get(f"/facilities/{f.id}/beds/{beds[0].id}")
    assert page.status_code == 200 and 'data-testid="admit-form"' in page.text
    token = factories.csrf(client, f"/facilities/{f.id}/beds/{beds[0].id}")
    r = client.post(
        f"/facilities/{f.id}/beds/{beds[0].id}/admit",
        data={"csrf_token": token, "id_number": a.id_number, "start_date": TODAY},
    )
    assert r.status_code == 303
    board = client.get(f"/facilities/{f.id}").text
    assert "王德福" in board and "在住" in board and "入住 0 天" in board
    stay = services.open_stay_of(a.id)
    r = client.post(
        f"/stays/{stay.id}/transfer",
        data={"csrf_token": token, "bed_id": beds[1].id, "date": TODAY},
    )
    assert r.status_code == 303
    new_id = services.open_stay_of(a.id).id
    r = client.post(
        f"/stays/{new_id}/leave",
        data={
            "csrf_token": token,
            "kind": "hospital",
            "start_date": TODAY,
            "expected_return": TODAY,
        },
    )
    assert r.status_code == 303 and "请假" in client.get(f"/facilities/{f.id}").text
    r = client.post(f"/stays/{new_id}/return", data={"csrf_token": token, "date": TODAY})
    assert r.status_code == 303
    bed_page = client.get(f"/facilities/{f.id}/beds/{beds[1].id}").text
    assert 'data-confirm="确认 王德福 离院' in bed_page
    r = client.post(
        f"/stays/{new_id}/end", data={"csrf_token": token, "date": TODAY, "reason": "discharged"}
    )
    assert r.status_code == 303
    assert services.open_stay_of(a.id) is None


def test_a_refused_admission_is_flashed_and_nothing_stored(client, home):
    f, beds = home
    mgr = factories.user("manager", facility_id=f.id)
    a, b = factories.person("王德福"), factories.person("李长林")
    services.admit(a, beds[0], days_ago(2))
    db.session.commit()
    factories.login(client, mgr)
    token = factories.csrf(client, f"/facilities/{f.id}")
    r = client.post(
        f"/facilities/{f.id}/beds/{beds[0].id}/admit",
        data={"csrf_token": token, "id_number": b.id_number, "start_date": TODAY},
        headers={"Referer": f"/facilities/{f.id}"},
    )
    assert r.status_code == 303
    assert "已有人入住" in client.get(f"/facilities/{f.id}").text
    assert services.open_stay_of(b.id) is None


def test_post_without_csrf_is_refused(client, home):
    f, beds = home
    factories.login(client, factories.user("manager", facility_id=f.id))
    a = factories.person("王德福")
    client.post(
        f"/facilities/{f.id}/beds/{beds[0].id}/admit",
        data={"id_number": a.id_number, "start_date": TODAY},
    )
    assert services.open_stay_of(a.id) is None


def test_census_button_records_who_and_when(client, home):
    f, _beds = home
    mgr = factories.user("manager", facility_id=f.id, display_name="院长 王")
    factories.login(client, mgr)
    assert 'data-testid="census-button"' in client.get(f"/facilities/{f.id}").text
    token = factories.csrf(client, f"/facilities/{f.id}")
    r = client.post(f"/facilities/{f.id}/census", data={"csrf_token": token, "date": TODAY})
    assert r.status_code == 303
    row = db.session.scalar(sa.select(CensusConfirmation))
    assert row.user_id == mgr.id and row.day == local_today()
    assert "今日已确认：院长 王" in client.get(f"/facilities/{f.id}").text


def test_manager_cannot_open_another_homes_board(client, home, other_home):
    f, _beds = home
    g, other_beds = other_home
    factories.login(client, factories.user("manager", facility_id=f.id))
    assert client.get(f"/facilities/{g.id}").status_code == 404
    assert client.get(f"/facilities/{g.id}/beds/{other_beds[0].id}").status_code == 404
    assert client.get("/placements").status_code == 403
    assert client.get("/facilities/occupancy").status_code == 403
    listing = client.get("/facilities").text
    assert f.name in listing and g.name not in listing


def test_auditor_reads_but_gets_no_action_forms(client, home):
    f, beds = home
    factories.login(client, factories.user("auditor"))
    assert client.get(f"/facilities/{f.id}").status_code == 200
    page = client.get(f"/facilities/{f.id}/beds/{beds[0].id}").text
    assert "admit-form" not in page
    token = factories.csrf(client, f"/facilities/{f.id}")
    a = factories.person("王德福")
    r = client.post(
        f"/facilities/{f.id}/beds/{beds[0].id}/admit",
        data={"csrf_token": token, "id_number": a.id_number, "start_date": TODAY},
    )
    assert r.status_code == 403


def test_placement_page_ranks_beds_and_admits_in_one_click(client, admin, home):
    _f, beds = home
    a = factories.person("王德福", township_code="510704104")
    people.start_wubao(a, "elderly", "dispersed", date(2020, 1, 1), days_ago(10))
    db.session.commit()
    factories.login(client, admin)
    page = client.get("/placements").text
    assert "王德福" in page
    _no_inline(page)
    page = client.get(f"/placements?person_id={a.id}").text
    assert "同乡镇（魏城镇）" in page and 'data-testid="place-button"' in page
    token = factories.csrf(client, f"/placements?person_id={a.id}")
    r = client.post(
        "/placements",
        data={"csrf_token": token, "person_id": a.id, "bed_id": beds[0].id, "date": TODAY},
    )
    assert r.status_code == 303
    assert services.open_stay_of(a.id).bed_id == beds[0].id
    assert a.current_support.support.value == "centralized"


def test_lists_export_xlsx_and_csv(client, admin, home):
    f, _beds = home
    factories.login(client, admin)
    for path in (
        "/facilities",
        f"/facilities/{f.id}",
        "/placements",
        "/facilities/occupancy",
    ):
        csv = client.get(f"{path}?format=csv")
        assert csv.status_code == 200 and csv.mimetype == "text/csv", path
        assert csv.get_data(as_text=True).startswith("\ufeff")
        xlsx = client.get(f"{path}?format=xlsx")
        assert xlsx.data[:2] == b"PK", path
    assert "魏城镇敬老院" in client.get("/facilities?format=csv").get_data(as_text=True)
    assert client.get(f"/facilities/{f.id}?format=xlsx").data[:2] == b"PK"


def test_dashboard_draws_the_trend_from_a_data_attribute(client, admin, home):
    factories.login(client, admin)
    page = client.get("/facilities/occupancy")
    assert page.status_code == 200 and 'data-trend="[' in page.text
    assert "js/facilities.js" in page.text
    _no_inline(page.text)


def test_person_page_shows_stays(client, admin, home):
    _f, beds = home
    a = factories.person("王德福")
    services.admit(a, beds[0], days_ago(3))
    db.session.commit()
    factories.login(client, admin)
    page = client.get(f"/people/{a.id}").text
    assert 'data-testid="person-stays"' in page and "魏城镇敬老院" in page


def test_day_care_register(client, admin):
    centre, _ = make_home("魏城镇老年人日间照料中心", beds=0, kind="day_care")
    a = factories.person("王德福")
    factories.login(client, admin)
    token = factories.csrf(client, f"/facilities/{centre.id}/attendance")
    r = client.post(
        f"/facilities/{centre.id}/attendance",
        data={"csrf_token": token, "id_number": a.id_number, "action": "arrive"},
    )
    assert r.status_code == 303
    assert "王德福" in client.get(f"/facilities/{centre.id}/attendance").text


def test_public_page_shows_homes_and_free_beds_without_names(client, home):
    _f, beds = home
    a = factories.person("王德福")
    services.admit(a, beds[0], days_ago(3))
    db.session.commit()
    page = client.get("/public").text
    assert "敬老院与空余床位" in page and "空床 2 张" in page and "王德福" not in page


def test_manager_asks_for_a_transfer_and_the_bureau_approves_on_pages(client, home, other_home):
    f, beds = home
    g, _other_beds = other_home
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(20))
    db.session.commit()
    stay_id = stay.id
    factories.login(client, factories.user("manager", facility_id=f.id))
    page = client.get(f"/facilities/{f.id}/beds/{beds[0].id}").text
    assert "申请转院" in page and g.name in page
    token = factories.csrf(client, f"/facilities/{f.id}")
    r = client.post(
        f"/stays/{stay_id}/transfer-request",
        data={"csrf_token": token, "facility_id": g.id, "date": TODAY, "reason": "离家近"},
    )
    assert r.status_code == 303
    listing = client.get("/facilities/transfers").text
    assert "待审批" in listing and "批准" not in listing.split("<tbody>")[1]
    client.post("/logout", data={"csrf_token": token})
    admin = factories.user("admin")
    client2 = client.application.test_client()
    factories.login(client2, admin)
    assert "待审批转院" in client2.get("/").text
    token = factories.csrf(client2, "/facilities/transfers")
    rid = db.session.scalar(sa.select(TransferRequest.id))
    r = client2.post(f"/facilities/transfers/{rid}/approve", data={"csrf_token": token})
    assert r.status_code == 303
    assert services.open_stay_of(a.id).facility_id == g.id


def test_days_in_count_from_the_home_not_the_last_bed(client, home, other_home):
    """A move to another bed keeps the resident's days in the home; a move to another home
    counts from the day they arrived there. The history says why a stay ended, in words."""
    f, beds = home
    _g, other_beds = other_home
    a, b = factories.person("王德福"), factories.person("李秀英", sex="F")
    moved = services.transfer(services.admit(a, beds[0], days_ago(30)), beds[1], days_ago(10))
    services.transfer(moved, beds[2], days_ago(2))
    services.approve_transfer(
        services.request_transfer(
            services.admit(b, other_beds[0], days_ago(40)), beds[0], days_ago(5)
        )
    )
    db.session.commit()
    factories.login(client, factories.user("admin"))
    board = client.get(f"/facilities/{f.id}").text
    assert "入住 30 天" in board and "入住 5 天" in board
    bed_page = client.get(f"/facilities/{f.id}/beds/{beds[2].id}").text
    assert f"{days_ago(30).isoformat()} 入住，已 30 天" in bed_page
    history = client.get(f"/facilities/{f.id}/beds/{beds[1].id}").text
    assert "<td>转床</td>" in history and "transferred" not in history


def test_dashboard_panel_is_for_the_bureau_only(client, home):
    f, _beds = home
    factories.login(client, factories.user("manager", facility_id=f.id))
    assert 'data-testid="facilities-panel"' not in client.get("/").text


def test_bad_form_and_query_input_is_refused_politely(client, home):
    f, beds = home
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(3))
    db.session.commit()
    stay_id = stay.id
    centre, _ = make_home("魏城镇老年人日间照料中心", beds=0, kind="day_care")
    factories.login(client, factories.user("admin"))
    token = factories.csrf(client, f"/facilities/{f.id}")
    r = client.post(
        f"/facilities/{f.id}/beds/{beds[1].id}/admit",
        data={"csrf_token": token, "person_id": "abc", "start_date": TODAY},
    )
    assert r.status_code == 303
    r = client.post(
        f"/stays/{stay_id}/transfer", data={"csrf_token": token, "bed_id": "'; drop", "date": TODAY}
    )
    assert r.status_code == 303 and services.open_stay_of(a.id).bed_id == beds[0].id
    assert client.get(f"/facilities/{centre.id}/attendance?day=2026-13-45").status_code == 200
    assert client.get("/facilities/99999").status_code == 404
