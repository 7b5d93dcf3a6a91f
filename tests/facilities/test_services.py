"""The rules of stays, leaves, transfers and beds, through the services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eldercare.errors import Conflict, Invalid
from eldercare.people import services as people
from eldercare.timeutil import local_today
from facilities import services
from facilities.errors import (
    BedOccupied,
    BedOutOfService,
    NotOwnFacility,
    OnLeave,
    PersonAlreadyInBed,
    PersonNotActive,
    StayNotOpen,
)
from facilities.models import Stay
from tests import factories

from .conftest import days_ago, make_home


def test_admit_then_the_bed_and_the_person_are_taken(db, home):
    f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    services.admit(a, beds[0], days_ago(10))
    with pytest.raises(BedOccupied):
        services.admit(b, beds[0], days_ago(5))
    with pytest.raises(PersonAlreadyInBed):
        services.admit(a, beds[1], days_ago(5))
    assert services.facility_occupancy(f.id).occupied == 1


def test_backdated_admission_never_overlaps_a_closed_stay(db, home):
    _f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    stay = services.admit(a, beds[0], days_ago(100))
    services.end_stay(stay, days_ago(50), "discharged")
    # b cannot be put in the bed from before a left ...
    with pytest.raises(BedOccupied):
        services.admit(b, beds[0], days_ago(60))
    # ... and a cannot be put in another bed over the days a was here
    with pytest.raises(PersonAlreadyInBed):
        services.admit(a, beds[1], days_ago(70))
    # the day a left, the bed is free again (end date excluded)
    assert services.admit(b, beds[0], days_ago(50)).start_date == days_ago(50)
    assert services.admit(a, beds[1], days_ago(40)).bed_id == beds[1].id


def test_open_stay_indexes_hold_even_without_the_service(db, home):
    _f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    services.admit(a, beds[0], days_ago(3))
    db.session.commit()
    db.session.add(
        Stay(
            person_id=b.id,
            bed_id=beds[0].id,
            facility_id=beds[0].facility_id,
            start_date=days_ago(1),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(
        Stay(
            person_id=a.id,
            bed_id=beds[1].id,
            facility_id=beds[1].facility_id,
            start_date=days_ago(1),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_no_admission_in_the_future_or_of_the_dead(db, home):
    _f, beds = home
    a = factories.person("王德福")
    with pytest.raises(Invalid):
        services.admit(a, beds[0], local_today() + timedelta(days=1))
    people.record_death(a, days_ago(2))
    with pytest.raises(PersonNotActive):
        services.admit(a, beds[0], days_ago(1))


def test_out_of_service_bed_takes_nobody_and_an_occupied_bed_cannot_be_taken_out(db, home):
    _f, beds = home
    a = factories.person("王德福")
    services.set_out_of_service(beds[0], days_ago(1), "维修")
    with pytest.raises(BedOutOfService):
        services.admit(a, beds[0], local_today())
    services.admit(a, beds[1], days_ago(3))
    with pytest.raises(BedOccupied):
        services.set_out_of_service(beds[1], local_today(), "维修")
    services.back_in_service(beds[0], local_today())
    assert services.bed_status(beds[0], None) == "available"


def test_transfer_is_one_operation(db, home):
    _f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    stay = services.admit(a, beds[0], days_ago(30))
    services.admit(b, beds[1], days_ago(30))
    db.session.commit()
    with pytest.raises(BedOccupied):
        services.transfer(stay, beds[1], days_ago(5))
    db.session.rollback()
    # the failed transfer left the old stay open: nothing half-happened
    assert db.session.get(Stay, stay.id).end_date is None
    new = services.transfer(db.session.get(Stay, stay.id), beds[2], days_ago(5))
    db.session.commit()
    old = db.session.get(Stay, stay.id)
    assert (old.end_date, old.end_reason.value) == (days_ago(5), "transferred")
    assert new.previous_stay_id == old.id and new.start_date == days_ago(5)
    assert services.who_was_in_bed(beds[0], days_ago(6)).person_id == a.id
    assert services.who_was_in_bed(beds[0], days_ago(5)) is None
    assert services.who_was_in_bed(beds[2], days_ago(5)).person_id == a.id


def test_manager_only_in_own_home(db, home, other_home):
    f, beds = home
    _g, other_beds = other_home
    mgr = factories.user("manager", facility_id=f.id)
    a = factories.person("王德福")
    with pytest.raises(NotOwnFacility):
        services.admit(a, other_beds[0], days_ago(1), mgr)
    stay = services.admit(a, beds[0], days_ago(1), mgr)
    with pytest.raises(NotOwnFacility):
        services.transfer(stay, other_beds[0], local_today(), mgr)


def test_leave_holds_the_bed_and_is_counted_apart(db, home):
    f, beds = home
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(30))
    services.start_leave(stay, "hospital", days_ago(10), days_ago(2))
    with pytest.raises(OnLeave):
        services.start_leave(stay, "home_visit", days_ago(1), local_today())
    occ = services.facility_occupancy(f.id)
    assert (occ.occupied, occ.held, occ.residents) == (0, 1, 1)
    assert services.bed_status(beds[0], stay) == "held"
    assert [lv.stay_id for lv in services.overdue_leaves(f.id)] == [stay.id]
    # twenty days ago, before the leave, the resident was simply there
    past = services.facility_occupancy(f.id, days_ago(20))
    assert (past.occupied, past.held) == (1, 0)
    with pytest.raises(OnLeave):
        services.transfer(stay, beds[1], local_today())
    services.return_from_leave(stay, days_ago(1))
    assert services.facility_occupancy(f.id).occupied == 1
    assert services.overdue_leaves(f.id) == []


def test_death_ends_the_stay_on_that_day(db, home):
    f, beds = home
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(30))
    services.start_leave(stay, "hospital", days_ago(5), days_ago(1))
    people.record_death(a, days_ago(3))
    db.session.commit()
    stay = db.session.get(Stay, stay.id)
    assert (stay.end_date, stay.end_reason.value) == (days_ago(3), "deceased")
    assert stay.leaves[0].returned_on == days_ago(3)
    assert services.facility_occupancy(f.id).residents == 0
    assert services.facility_occupancy(f.id, days_ago(4)).residents == 1
    with pytest.raises(StayNotOpen):
        services.end_stay(stay, local_today(), "discharged")


def test_end_stay_deceased_records_the_death_in_the_registry(db, home):
    _f, beds = home
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(30))
    services.end_stay(stay, days_ago(2), "deceased")
    assert a.status.value == "deceased" and a.death_date == days_ago(2)
    assert stay.end_reason.value == "deceased"


def test_move_away_ends_the_stay(db, home):
    _f, beds = home
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(30))
    people.record_move(a, days_ago(1))
    assert (stay.end_date, stay.end_reason.value) == (days_ago(1), "moved")


def test_history_answers_who_and_how_many_on_past_days(db, home):
    f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    s1 = services.admit(a, beds[0], date(2025, 1, 1))
    services.end_stay(s1, date(2025, 6, 1), "discharged")
    services.admit(b, beds[0], date(2025, 7, 1))
    assert services.who_was_in_bed(beds[0], date(2025, 3, 3)).person_id == a.id
    assert services.who_was_in_bed(beds[0], date(2025, 6, 15)) is None
    assert services.who_was_in_bed(beds[0], date(2025, 8, 1)).person_id == b.id
    assert [s.person_id for s in services.bed_history(beds[0])] == [b.id, a.id]
    assert services.facility_occupancy(f.id, date(2025, 6, 15)).residents == 0
    assert services.facility_occupancy(f.id, date(2025, 3, 3)).rate == "0.333"


def test_inter_home_transfer_is_requested_then_approved_once(db, home, other_home, admin):
    f, beds = home
    _g, other_beds = other_home
    mgr = factories.user("manager", facility_id=f.id)
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(30))
    req = services.request_transfer(stay, other_beds[0], days_ago(1), mgr, "离家近")
    with pytest.raises(Conflict):
        services.request_transfer(stay, other_beds[1], days_ago(1), mgr)
    new = services.approve_transfer(req, admin)
    assert new.facility_id == other_beds[0].facility_id and stay.end_reason.value == "transferred"
    with pytest.raises(Conflict):
        services.approve_transfer(req, admin)


def test_census_once_a_day(db, home):
    f, _beds = home
    services.confirm_census(f, local_today())
    with pytest.raises(Conflict):
        services.confirm_census(f, local_today())


def test_attendance_only_at_day_care_and_once_per_day(db):
    from datetime import datetime

    from eldercare.timeutil import LOCAL

    centre, _ = make_home("魏城镇老年人日间照料中心", beds=0, kind="day_care")
    home, _ = make_home()
    a = factories.person("王德福")
    t = datetime.now(LOCAL).replace(hour=8, minute=30)
    row = services.record_attendance(centre, a, local_today(), arrived_at=t)
    again = services.record_attendance(centre, a, local_today(), left_at=t + timedelta(hours=7))
    assert row.id == again.id and again.left_at is not None
    with pytest.raises(Invalid):
        services.record_attendance(home, a, local_today(), arrived_at=t)
    with pytest.raises(Invalid):
        services.record_attendance(centre, a, local_today(), left_at=t - timedelta(hours=1))


def test_placement_ranks_same_township_then_nearest_and_respects_sex_and_care(db):
    _near, near_beds = make_home("石马镇中心敬老院", beds=2, township="510704101", nursing=1)
    far, _far_beds = make_home("魏城镇敬老院", beds=2, township="510704104", nursing=2)
    _women, _ = make_home("松垭镇敬老院", beds=2, township="510704112", room_sex="F")
    a = factories.person("王德福", township_code="510704101", care_level="full")
    people.start_wubao(a, "elderly", "dispersed", date(2020, 1, 1), days_ago(10))
    options = services.placement_options(a)
    assert all(o.facility.name != "松垭镇敬老院" for o in options)  # a women's room
    assert options[0].bed.id == near_beds[0].id  # same township, nursing type
    assert any("同乡镇" in r for r in options[0].reasons)
    assert any("护理型" in r for r in options[0].reasons)
    # then the nearest other home's nursing bed, before an ordinary bed at home
    assert options[1].facility.id == far.id and options[1].distance_km > 5
    assert options[2].bed.id == near_beds[1].id
    b = factories.person("李长林", township_code="510704101", care_level="self")
    people.start_wubao(b, "elderly", "dispersed", date(2020, 1, 1), days_ago(10))
    assert services.placement_options(b)[0].bed.id == near_beds[1].id  # ordinary kept for him


def test_place_admits_and_records_centralised_support(db, home):
    _f, beds = home
    a = factories.person("王德福", township_code="510704104")
    people.start_wubao(a, "elderly", "dispersed", date(2020, 1, 1), days_ago(10))
    assert db.session.execute(services.waiting_list()).first()[0].id == a.id
    services.place(a, beds[0], local_today())
    assert a.current_support.support.value == "centralized"
    assert a.current_support.start_date == local_today()
    assert db.session.execute(services.waiting_list()).first() is None
    c = factories.person("张三")
    with pytest.raises(Invalid):
        services.place(c, beds[1], local_today())


def test_vacant_beds_offers_only_beds_that_can_be_taken(db, home):
    _f, beds = home
    a = factories.person("王德福")
    services.admit(a, beds[0], days_ago(3))
    services.set_out_of_service(beds[1], local_today(), "维修")
    assert [b.id for b in services.vacant_beds()] == [beds[2].id]


def test_stays_are_audited(db, home, client, admin_headers):
    _f, beds = home
    a = factories.person("王德福")
    services.admit(a, beds[0], days_ago(3))
    db.session.commit()
    entries = client.get("/api/v1/audit?entity=stays", headers=admin_headers).json["items"]
    assert [e["action"] for e in entries] == ["create"]
    assert db.session.scalar(sa.select(sa.func.count(Stay.id))) == 1


def test_occupancy_snapshot_job_runs_once_per_day(db, home):
    from eldercare.jobs import run_job

    f, beds = home
    services.admit(factories.person("王德福"), beds[0], days_ago(3))
    db.session.commit()
    first = run_job("occupancy-snapshot", days_ago(1).isoformat(), trigger="cli")
    assert first.done and first.summary["residents"] == 1
    again = run_job("occupancy-snapshot", days_ago(1).isoformat(), trigger="cli")
    assert not again.done
    from facilities.models import OccupancySnapshot

    row = db.session.scalar(sa.select(OccupancySnapshot))
    assert (row.facility_id, row.beds, row.occupied, row.held) == (f.id, 3, 1, 0)


def test_alerts_for_a_full_home_and_an_overdue_leave(db, home):
    from facilities import jobs

    _f, beds = home
    stay = services.admit(factories.person("王德福"), beds[0], days_ago(30))
    services.start_leave(stay, "hospital", days_ago(5), days_ago(1))
    kinds = {(a["kind"], a["role"]) for a in jobs.alerts(local_today())}
    assert ("home_full", "admin") in kinds and ("leave_overdue", "manager") in kinds


def test_monthly_trend_reads_snapshots_where_written_and_history_elsewhere(db, home):
    from eldercare.jobs import run_job
    from facilities.queries import monthly_trend

    f, beds = home
    services.admit(factories.person("王德福"), beds[0], date(2020, 1, 1))
    db.session.commit()
    live = monthly_trend(12, facility_id=f.id)
    assert [p["residents"] for p in live] == [1] * 13
    assert live[-1]["date"] == local_today().isoformat()
    month_end = date.fromisoformat(live[-2]["date"])
    run_job("occupancy-snapshot", month_end.isoformat(), trigger="cli")
    db.session.commit()
    assert monthly_trend(12, facility_id=f.id) == live


def test_discharge_from_centralised_support_goes_back_to_dispersed(db, home):
    _f, beds = home
    a = factories.person("王德福")
    people.start_wubao(a, "elderly", "dispersed", date(2020, 1, 1), days_ago(40))
    services.place(a, beds[0], days_ago(30))
    stay = services.open_stay_of(a.id)
    services.end_stay(stay, days_ago(2), "discharged")
    assert a.current_support.support.value == "dispersed"
    assert a.current_support.start_date == days_ago(2)


def test_reservation_holds_a_bed_for_one_person(db, home):
    from facilities.errors import BedReserved

    _f, beds = home
    a, b = factories.person("王德福"), factories.person("李长林")
    services.reserve_bed(beds[0], a)
    assert services.bed_status(beds[0], None) == "reserved"
    with pytest.raises(BedReserved):
        services.admit(b, beds[0], local_today())
    services.admit(a, beds[0], local_today())
    assert beds[0].reserved_for_id is None


def test_a_late_record_moves_the_beds_start_back(db):
    f = services.create_facility("新敬老院", "care_home")
    bed = services.add_bed(f, "1")
    services.admit(factories.person("王德福"), bed, date(2021, 5, 1))
    assert bed.created_on == date(2021, 5, 1)
    assert services.facility_occupancy(f.id, date(2022, 1, 1)).residents == 1


def test_bed_flag_changes_are_audited(db, home, client, admin_headers):
    _f, beds = home
    services.set_out_of_service(beds[0], local_today(), "维修")
    services.back_in_service(beds[0], local_today())
    db.session.commit()
    entries = client.get(
        f"/api/v1/audit?entity=beds&entity_id={beds[0].id}", headers=admin_headers
    ).json["items"]
    changes = [e["changes"].get("out_of_service") for e in entries]
    assert [True, False] in changes and [False, True] in changes
