"""facilities/guards.py: the checks every bed operation starts with, each on both sides of
its boundary (a manager in and out of their home, today and tomorrow, a stay that ends the
day another begins)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eldercare.people import services as people
from eldercare.timeutil import local_today
from facilities import guards, services
from facilities.errors import (
    BadDate,
    BedOutOfService,
    NotOwnFacility,
    PersonNotActive,
    StayNotOpen,
)
from facilities.models import Stay
from tests import factories

from .conftest import days_ago


def test_a_manager_acts_only_in_their_own_home(db, home, other_home):
    mine, theirs = home[0], other_home[0]
    manager = factories.user("manager", facility_id=mine.id)
    guards.check_own_facility(manager, mine.id)  # their own: no error
    with pytest.raises(NotOwnFacility):
        guards.check_own_facility(manager, theirs.id)
    for anyone in (factories.user("admin"), None):  # the bureau, a job
        guards.check_own_facility(anyone, theirs.id)


def test_a_day_may_be_today_never_tomorrow_nor_before_the_earliest(db):
    today = local_today()
    guards.check_day(today, "start_date")
    with pytest.raises(BadDate) as future:
        guards.check_day(today + timedelta(days=1), "start_date")
    assert future.value.fields == {"start_date": "不能晚于今天"}
    guards.check_day(days_ago(5), "date", earliest=days_ago(5))
    with pytest.raises(BadDate) as early:
        guards.check_day(days_ago(6), "date", earliest=days_ago(5))
    assert early.value.fields == {"date": f"不能早于 {days_ago(5).isoformat()}"}


def test_only_the_living_who_still_live_here_are_admitted(db):
    living, dead, gone = (
        factories.person("王德福"),
        factories.person("李长林"),
        factories.person("张秀英"),
    )
    people.record_death(dead, days_ago(2))
    people.record_move(gone, days_ago(2))
    guards.check_person_active(living)
    with pytest.raises(PersonNotActive, match="已去世"):
        guards.check_person_active(dead)
    with pytest.raises(PersonNotActive, match="已迁出"):
        guards.check_person_active(gone)


def test_a_stay_that_ends_on_a_day_leaves_the_bed_free_that_day(db, home):
    _f, beds = home
    resident = factories.person("王德福")
    stay = services.admit(resident, beds[0], days_ago(20))
    services.end_stay(stay, days_ago(10), "discharged")
    assert guards.overlapping(Stay.bed_id, beds[0].id, days_ago(10), None) is None
    assert guards.overlapping(Stay.bed_id, beds[0].id, days_ago(11), None) == stay
    # a closed period before the stay began does not touch it either
    assert guards.overlapping(Stay.bed_id, beds[0].id, days_ago(30), days_ago(20)) is None
    assert guards.overlapping(Stay.bed_id, beds[0].id, days_ago(30), days_ago(19)) == stay
    assert (
        guards.overlapping(Stay.bed_id, beds[0].id, days_ago(11), None, exclude=(stay.id,)) is None
    )


def test_an_ended_stay_is_not_open(db, home):
    _f, beds = home
    stay = services.admit(factories.person("王德福"), beds[0], days_ago(5))
    guards.require_open(stay)
    services.end_stay(stay, days_ago(1), "discharged")
    with pytest.raises(StayNotOpen):
        guards.require_open(stay)


def test_claiming_a_bed_needs_it_in_service_and_in_the_managers_home(db, home, other_home):
    _f, beds = home
    _g, their_beds = other_home
    manager = factories.user("manager", facility_id=home[0].id)
    guards.claim_bed(beds[0], manager)
    with pytest.raises(NotOwnFacility):
        guards.claim_bed(their_beds[0], manager)
    services.set_out_of_service(beds[1], local_today(), "维修")
    with pytest.raises(BedOutOfService):
        guards.claim_bed(beds[1], manager)
    guards.claim_bed(beds[1], manager, in_service=False)  # taking it out needs no service
