"""The presence flags of homecare/flags.py, called directly on visits written by hand:
far from home (1 km), the worker in two homes at once (12 hours back), the likely
photographed card (three elders from one spot within 10 minutes, or one card from
scattered places), and deceased / not enrolled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import LOCAL, local_today
from homecare import flags, services
from homecare.models import Visit, VisitStatus
from tests import factories as f

from .conftest import HOME, elder, enrol, make_provider

#: One degree of latitude on the 6,371 km sphere the bureau's distances use (2πR / 360).
METRES_PER_DEGREE = 111_194.93


def north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """The point `metres` due north of `point`."""
    return point[0] + metres / METRES_PER_DEGREE, point[1]


@dataclass
class Homes:
    worker: object
    other_worker: object
    enrolments: list


@pytest.fixture
def homes(app) -> Homes:
    provider = make_provider()
    worker = f.user("worker", provider_id=provider.id)
    other = f.user("worker", provider_id=provider.id)
    enrolments = [enrol(elder(name), provider) for name in ("李秀英", "王德福", "张桂兰")]
    return Homes(worker, other, enrolments)


def noon() -> datetime:
    """Today at noon, local time, in UTC."""
    return datetime.combine(
        local_today(), datetime.min.time().replace(hour=12), tzinfo=LOCAL
    ).astimezone(UTC)


def visit(
    enrolment,
    worker,
    at: datetime,
    where: tuple[float, float] | None = HOME,
    *,
    out: datetime | None = None,
    status: VisitStatus | None = None,
) -> Visit:
    v = Visit(
        enrolment=enrolment,
        enrolment_id=enrolment.id,
        provider_id=enrolment.provider_id,
        worker_id=worker.id,
        check_in_at=at,
        check_out_at=out,
        status=status or (VisitStatus.OPEN if out is None else VisitStatus.COMPLETED),
        amount=Decimal("0.00"),
        subsidised=Decimal("0.00"),
        self_paid=Decimal("0.00"),
        lat=where[0] if where else None,
        lng=where[1] if where else None,
        exceptions=[],
    )
    db.session.add(v)
    db.session.flush()
    return v


# --- distance --------------------------------------------------------------------------


def test_distance_is_zero_at_the_same_point_and_111_km_for_a_degree_of_latitude():
    assert flags.distance_m(*HOME, *HOME) == 0
    assert flags.distance_m(0.0, 104.79, 1.0, 104.79) == 111_195
    assert flags.distance_m(*HOME, *north(HOME, 1000)) == 1000


# --- far from home ---------------------------------------------------------------------


def test_a_scan_exactly_1_km_from_home_is_not_far_and_one_metre_more_is(homes):
    e = homes.enrolments[0]
    at_limit = visit(e, homes.worker, noon())
    flags.place(at_limit, *north(HOME, 1000))
    assert at_limit.exceptions == []
    assert at_limit.distance_m == 1000

    over = visit(e, homes.other_worker, noon())
    flags.place(over, *north(HOME, 1001))
    assert over.exceptions == ["far_from_home"]
    assert over.distance_m == 1001


def test_the_farther_of_check_in_and_check_out_is_kept(homes):
    v = visit(homes.enrolments[0], homes.worker, noon())
    flags.place(v, *north(HOME, 300))
    flags.place(v, *north(HOME, 20))
    assert v.distance_m == 300


def test_without_a_home_point_the_visit_says_so_rather_than_passing(homes):
    e = homes.enrolments[0]
    e.person.home_lat = e.person.home_lng = None
    v = visit(e, homes.worker, noon())
    flags.place(v, *north(HOME, 5000))
    assert v.exceptions == ["no_home_point"]
    assert v.distance_m is None


def test_a_scan_without_location_is_not_placed_nor_called_far(homes):
    v = visit(homes.enrolments[0], homes.worker, noon(), where=None)
    flags.place(v, None, None)
    assert v.exceptions == []
    assert v.distance_m is None


# --- the worker in two homes -----------------------------------------------------------


def test_a_check_in_while_still_on_site_elsewhere_overlaps(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=1))
    assert flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_leaving_one_home_at_the_minute_of_arriving_at_the_next_does_not_overlap(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=1), out=t)
    assert not flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_leaving_a_minute_after_arriving_elsewhere_overlaps(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=1), out=t + timedelta(minutes=1))
    assert flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_an_open_visit_is_forgotten_after_12_hours(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=12))
    assert not flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_an_open_visit_just_under_12_hours_old_still_overlaps(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=11, minutes=59))
    assert flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_a_visit_closed_without_check_out_does_not_overlap(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=1), status=VisitStatus.FLAGGED)
    assert not flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_another_workers_open_visit_does_not_overlap(homes):
    t = noon()
    visit(homes.enrolments[0], homes.other_worker, t - timedelta(hours=1))
    assert not flags.overlapping_before(visit(homes.enrolments[1], homes.worker, t))


def test_a_second_visit_to_the_same_elder_does_not_overlap(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(hours=1))
    assert not flags.overlapping_before(visit(homes.enrolments[0], homes.worker, t))


# --- a photographed card ---------------------------------------------------------------


def test_three_elders_scanned_from_one_spot_within_10_minutes_is_suspect(homes):
    t = noon()
    e1, e2, e3 = homes.enrolments
    visit(e1, homes.worker, t - timedelta(minutes=10))
    visit(e2, homes.worker, t - timedelta(minutes=5), where=north(HOME, 100))
    assert flags.suspect(visit(e3, homes.worker, t))


def test_two_elders_from_one_spot_are_not_suspect(homes):
    t = noon()
    visit(homes.enrolments[0], homes.worker, t - timedelta(minutes=5))
    assert not flags.suspect(visit(homes.enrolments[1], homes.worker, t))


def test_a_scan_11_minutes_apart_does_not_count_toward_one_spot(homes):
    t = noon()
    e1, e2, e3 = homes.enrolments
    visit(e1, homes.worker, t - timedelta(minutes=11))
    visit(e2, homes.worker, t - timedelta(minutes=5))
    assert not flags.suspect(visit(e3, homes.worker, t))


def test_a_scan_101_metres_away_is_not_the_same_spot(homes):
    t = noon()
    e1, e2, e3 = homes.enrolments
    visit(e1, homes.worker, t - timedelta(minutes=5), where=north(HOME, 101))
    visit(e2, homes.worker, t - timedelta(minutes=5))
    assert not flags.suspect(visit(e3, homes.worker, t))


def test_other_workers_scans_from_the_spot_do_not_count(homes):
    t = noon()
    e1, e2, e3 = homes.enrolments
    visit(e1, homes.other_worker, t - timedelta(minutes=5))
    visit(e2, homes.worker, t - timedelta(minutes=5))
    assert not flags.suspect(visit(e3, homes.worker, t))


def test_one_card_scanned_from_two_far_places_in_30_days_is_suspect(homes):
    t = noon()
    e = homes.enrolments[0]
    visit(e, homes.worker, t - timedelta(days=3), where=north(HOME, 2000))
    visit(e, homes.worker, t - timedelta(days=2), where=north(HOME, -3000))
    assert flags.suspect(visit(e, homes.worker, t))


def test_one_far_place_or_far_places_longer_ago_than_30_days_are_not(homes):
    t = noon()
    e = homes.enrolments[0]
    visit(e, homes.worker, t - timedelta(days=31), where=north(HOME, 2000))
    visit(e, homes.worker, t - timedelta(days=2), where=north(HOME, -3000))
    visit(e, homes.worker, t - timedelta(days=1), where=north(HOME, 1000))  # not > 1 km
    assert not flags.suspect(visit(e, homes.worker, t))


def test_a_scan_without_location_is_never_suspect(homes):
    t = noon()
    e1, e2, e3 = homes.enrolments
    visit(e1, homes.worker, t - timedelta(minutes=5))
    visit(e2, homes.worker, t - timedelta(minutes=5))
    assert not flags.suspect(visit(e3, homes.worker, t, where=None))


# --- deceased, not enrolled --------------------------------------------------------------


def test_an_enrolled_living_elder_has_no_status_exception(homes):
    assert flags.status_exceptions(homes.enrolments[0], noon()) == []


def test_a_visit_on_the_day_of_death_is_deceased_and_not_also_not_enrolled(homes):
    e = homes.enrolments[0]
    people.record_death(e.person, local_today())
    db.session.flush()
    assert flags.status_exceptions(e, noon()) == ["deceased"]
    assert "deceased" not in flags.status_exceptions(e, noon() - timedelta(days=1))


def test_a_visit_from_the_day_an_enrolment_ended_is_not_enrolled(homes):
    e = homes.enrolments[0]
    services.end_enrolment(e, local_today(), "moved")
    assert flags.status_exceptions(e, noon()) == ["not_enrolled"]


def test_a_visit_outside_the_enrolments_year_or_before_it_began_is_not_enrolled(homes):
    e = homes.enrolments[0]
    year = local_today().year
    last_year = datetime(year - 1, 12, 31, 12, tzinfo=LOCAL)
    assert flags.status_exceptions(e, last_year) == ["not_enrolled"]
    e.enrolled_on = date(year, 12, 31)
    assert flags.status_exceptions(e, datetime(year, 12, 30, 12, tzinfo=LOCAL)) == ["not_enrolled"]
    assert flags.status_exceptions(e, datetime(year, 12, 31, 12, tzinfo=LOCAL)) == []
