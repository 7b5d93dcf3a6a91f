"""Beds out of service and reserved (facilities/availability.py) and the 五保 placement
(facilities/placement.py), called directly: each refusal and the other side of it."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import Support
from eldercare.people import services as people
from facilities import availability, placement
from facilities.errors import (
    BadDate,
    BedOccupied,
    BedOutOfService,
    BedReserved,
    NotOwnFacility,
    PersonNotActive,
)
from facilities.models import BedOutage
from facilities.stays import admit, end_stay
from tests import factories as f

from .conftest import days_ago, make_home


def outages(bed) -> list[tuple[date, date | None]]:
    return [
        (r.start_date, r.end_date)
        for r in db.session.execute(
            sa.select(BedOutage.start_date, BedOutage.end_date).where(BedOutage.bed_id == bed.id)
        )
    ]


def test_a_vacant_bed_goes_out_of_service_once(home):
    bed = home[1][0]
    availability.set_out_of_service(bed, days_ago(2), "维修")
    assert (bed.out_of_service, bed.out_of_service_reason) == (True, "维修")
    assert outages(bed) == [(days_ago(2), None)]
    with pytest.raises(BedOutOfService):
        availability.set_out_of_service(bed, days_ago(1), "再次维修")
    assert len(outages(bed)) == 1


def test_an_occupied_bed_cannot_go_out_of_service(home):
    bed = home[1][0]
    admit(f.person("张三"), bed, days_ago(10))
    with pytest.raises(BedOccupied):
        availability.set_out_of_service(bed, days_ago(1), "维修")
    assert bed.out_of_service is False


def test_a_bed_left_on_a_day_may_go_out_of_service_from_that_day_not_before(home):
    bed = home[1][0]
    stay = admit(f.person("张三"), bed, days_ago(10))
    end_stay(stay, days_ago(3), "discharged")
    with pytest.raises(BedOccupied):
        availability.set_out_of_service(bed, days_ago(4), "维修")
    availability.set_out_of_service(bed, days_ago(3), "维修")
    assert bed.out_of_service is True


def test_a_bed_goes_out_of_service_today_at_the_latest(home):
    bed = home[1][0]
    with pytest.raises(BadDate):
        availability.set_out_of_service(bed, days_ago(-1), "维修")
    assert bed.out_of_service is False
    availability.set_out_of_service(bed, days_ago(0), "维修")
    assert bed.out_of_service is True


def test_back_in_service_ends_the_outage_and_only_once(home):
    bed = home[1][0]
    availability.set_out_of_service(bed, days_ago(5), "维修")
    availability.back_in_service(bed, days_ago(1))
    assert bed.out_of_service is False and bed.out_of_service_reason == ""
    assert outages(bed) == [(days_ago(5), days_ago(1))]
    with pytest.raises(Conflict) as exc:
        availability.back_in_service(bed, days_ago(0))
    assert exc.value.code == "bed_in_service"


def test_an_outage_never_ends_before_it_began(home):
    bed = home[1][0]
    availability.set_out_of_service(bed, days_ago(2), "维修")
    availability.back_in_service(bed, days_ago(4))
    assert outages(bed) == [(days_ago(2), days_ago(2))]


def test_a_manager_changes_beds_of_their_own_home_only(home, other_home):
    theirs = f.user("manager", facility_id=other_home[0].id)
    bed = home[1][0]
    with pytest.raises(NotOwnFacility):
        availability.set_out_of_service(bed, days_ago(1), "维修", theirs)
    with pytest.raises(NotOwnFacility):
        availability.reserve_bed(bed, f.person("张三"), theirs)
    mine = f.user("manager", facility_id=home[0].id)
    availability.set_out_of_service(bed, days_ago(1), "维修", mine)
    assert bed.out_of_service is True


def test_a_vacant_bed_is_reserved_for_one_person_and_released(home):
    bed = home[1][0]
    a, b = f.person("张三"), f.person("李四")
    availability.reserve_bed(bed, a)
    assert bed.reserved_for_id == a.id
    with pytest.raises(BedReserved):
        availability.reserve_bed(bed, b)
    availability.unreserve_bed(bed)
    availability.unreserve_bed(bed)  # none left: no error
    availability.reserve_bed(bed, b)
    assert bed.reserved_for_id == b.id


def test_no_reservation_of_an_occupied_or_out_of_service_bed_nor_for_the_dead(home):
    occupied, broken, free = home[1]
    admit(f.person("张三"), occupied, days_ago(3))
    with pytest.raises(BedOccupied):
        availability.reserve_bed(occupied, f.person("李四"))
    availability.set_out_of_service(broken, days_ago(1), "维修")
    with pytest.raises(BedOutOfService):
        availability.reserve_bed(broken, f.person("王五"))
    dead = f.person("赵六")
    people.record_death(dead, days_ago(1))
    with pytest.raises(PersonNotActive):
        availability.reserve_bed(free, dead)
    assert [b.reserved_for_id for b in home[1]] == [None, None, None]


# --- 五保 placement ------------------------------------------------------------------------


def test_placing_a_dispersed_tekun_person_makes_their_support_centralised(home):
    p = f.person("张三")
    people.start_wubao(p, "elderly", "dispersed", date(2020, 1, 1))
    stay = placement.place(p, home[1][0], days_ago(1))
    assert (stay.person_id, stay.start_date) == (p.id, days_ago(1))
    db.session.refresh(p)
    assert (p.current_support.support, p.current_support.start_date) == (
        Support.CENTRALIZED,
        days_ago(1),
    )


def test_placing_someone_centralised_already_keeps_their_support(home):
    p = f.person("张三")
    people.start_wubao(p, "elderly", "centralized", date(2020, 1, 1))
    placement.place(p, home[1][0], days_ago(1))
    db.session.refresh(p)
    assert p.current_support.start_date == date(2020, 1, 1)


def test_no_placement_without_tekun_support_nor_in_an_occupied_bed(home):
    with pytest.raises(Invalid) as exc:
        placement.place(f.person("张三"), home[1][0], days_ago(1))
    assert "person_id" in exc.value.fields
    bed = home[1][1]
    admit(f.person("李四"), bed, days_ago(5))
    p = f.person("王五")
    people.start_wubao(p, "elderly", "dispersed", date(2020, 1, 1))
    with pytest.raises(BedOccupied):
        placement.place(p, bed, days_ago(1))
    db.session.refresh(p)
    assert p.current_support.support == Support.DISPERSED


def test_a_home_of_other_beds_is_unaffected(app):
    _, beds = make_home(beds=2)
    availability.set_out_of_service(beds[0], days_ago(1), "维修")
    db.session.refresh(beds[1])
    assert beds[1].out_of_service is False
