"""facilities/stays.py: when the checks are outrun (two admissions at once), the open-stay
index that refuses the second one names the error: the person's index says the person
has a bed, the bed's index says the bed is taken, told apart by the index's name."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from facilities import services, stays
from facilities.errors import BedOccupied, PersonAlreadyInBed
from facilities.models import Stay
from tests import factories

from .conftest import days_ago


def _stay(person, bed) -> Stay:
    return Stay(
        person_id=person.id,
        person=person,
        bed_id=bed.id,
        facility_id=bed.facility_id,
        start_date=days_ago(1),
    )


def test_the_persons_open_stay_index_says_the_person_has_a_bed(db, home):
    _f, beds = home
    resident = factories.person("王德福")
    services.admit(resident, beds[0], days_ago(3))
    db.session.commit()
    with pytest.raises(PersonAlreadyInBed) as caught:
        stays._insert_stay(_stay(resident, beds[1]))  # past the checks, as in a race
    assert caught.value.fields == {"person_id": "此人已有床位"}


def test_the_beds_open_stay_index_says_the_bed_is_taken(db, home):
    _f, beds = home
    resident, newcomer = factories.person("王德福"), factories.person("李长林")
    services.admit(resident, beds[0], days_ago(3))
    db.session.commit()
    with pytest.raises(BedOccupied) as caught:
        stays._insert_stay(_stay(newcomer, beds[0]))
    assert caught.value.fields == {"bed_id": "床位已有人入住"}
    assert services.open_stay_of(newcomer.id) is None  # the savepoint took nothing with it


def test_any_other_integrity_error_is_not_dressed_up_as_a_taken_bed(db, home):
    _f, beds = home
    newcomer = factories.person("李长林")
    stay = _stay(newcomer, beds[0])
    stay.start_date = None  # a NOT NULL column, not an open-stay index
    with pytest.raises(IntegrityError):
        stays._insert_stay(stay)
