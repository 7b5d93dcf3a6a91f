"""The proposed home point (homecare/homepoint.py), called directly: the median of the
first five located check-ins, manual visits left out, and the bureau's decision on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models.audit import AuditEntry
from homecare import homepoint
from homecare.models import Visit, VisitStatus
from tests import factories as f

from .conftest import elder, enrol, make_provider

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


@pytest.fixture
def elder_enrolment(app):
    provider = make_provider()
    worker = f.user("worker", provider_id=provider.id)
    person = elder("李秀英")
    person.home_lat = person.home_lng = None
    db.session.flush()
    return enrol(person, provider), worker


def check_ins(enrolment, worker, points, *, manual: bool = False, first: int = 0) -> list[int]:
    """Visits a day apart, from day `first`, at these (lat, lng)."""
    ids = []
    for i, (lat, lng) in enumerate(points):
        v = Visit(
            enrolment_id=enrolment.id,
            provider_id=enrolment.provider_id,
            worker_id=worker.id,
            check_in_at=START + timedelta(days=first + i),
            status=VisitStatus.COMPLETED,
            amount=Decimal("0.00"),
            subsidised=Decimal("0.00"),
            self_paid=Decimal("0.00"),
            lat=lat,
            lng=lng,
            manual=manual,
            exceptions=[],
        )
        db.session.add(v)
        db.session.flush()
        ids.append(v.id)
    return ids


FIVE = [
    (31.4600, 104.7900),
    (31.4602, 104.7901),
    (31.4601, 104.7899),
    (31.5000, 104.9000),
    (31.4000, 104.7000),
]  # three at home, two wrong scans


def test_no_proposal_before_five_located_check_ins(elder_enrolment):
    enrolment, worker = elder_enrolment
    check_ins(enrolment, worker, FIVE[:4])
    check_ins(enrolment, worker, [(None, None)], first=4)
    assert homepoint.proposal(enrolment.person) is None


def test_the_proposal_is_the_median_so_two_wrong_scans_of_five_do_not_move_it(elder_enrolment):
    enrolment, worker = elder_enrolment
    ids = check_ins(enrolment, worker, FIVE)
    p = homepoint.proposal(enrolment.person)
    assert p is not None
    assert (p.lat, p.lng) == (31.4601, 104.7900)
    assert p.visit_ids == ids
    # the farthest of the five, (31.5, 104.9), is about 11 km away
    assert 10_000 < p.spread_m < 12_000


def test_only_the_first_five_count_and_manual_visits_never(elder_enrolment):
    enrolment, worker = elder_enrolment
    check_ins(enrolment, worker, [(10.0, 10.0)] * 3, manual=True)  # earliest, but by hand
    ids = check_ins(enrolment, worker, FIVE, first=3)
    check_ins(enrolment, worker, [(40.0, 110.0)] * 5, first=8)  # later: not counted
    p = homepoint.proposal(enrolment.person)
    assert p is not None and p.visit_ids == ids
    assert (p.lat, p.lng) == (31.4601, 104.7900)


def test_state_shows_the_proposal_only_while_there_is_no_home_point(elder_enrolment):
    enrolment, worker = elder_enrolment
    check_ins(enrolment, worker, FIVE)
    person = enrolment.person
    shown = homepoint.state(person)["proposal"]
    assert shown is not None and (shown["lat"], shown["lng"]) == (31.4601, 104.79)
    person.home_lat, person.home_lng = 31.46, 104.79
    assert homepoint.state(person) == {
        "person_id": person.id,
        "home_lat": 31.46,
        "home_lng": 104.79,
        "proposal": None,
    }


def _actions() -> list[str]:
    """The audit log as it stands once the decision commits."""
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.action.like("home_point_%"))
        )
    )


def test_accepting_without_a_proposal_is_refused(elder_enrolment, admin):
    enrolment, worker = elder_enrolment
    check_ins(enrolment, worker, FIVE[:4])
    with pytest.raises(Conflict) as exc:
        homepoint.decide(admin, enrolment.person)
    assert exc.value.code == "no_proposal"
    assert enrolment.person.home_lat is None


def test_accepting_the_proposal_sets_it_and_audits_what_it_was(elder_enrolment, admin):
    enrolment, worker = elder_enrolment
    check_ins(enrolment, worker, FIVE)
    person = homepoint.decide(admin, enrolment.person)
    assert (person.home_lat, person.home_lng) == (31.4601, 104.79)
    db.session.commit()  # the audit entries are chained and written at commit
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "home_point_accepted")
    ).one()
    assert entry.changes["before"] == [None, None]
    assert entry.changes["proposal"]["lat"] == 31.4601


def test_a_typed_point_is_corrected_beside_a_proposal_and_entered_without(elder_enrolment, admin):
    enrolment, worker = elder_enrolment
    homepoint.decide(admin, enrolment.person, 31.0, 104.0)
    check_ins(enrolment, worker, FIVE)
    homepoint.decide(admin, enrolment.person, 31.5, 104.5)
    assert (enrolment.person.home_lat, enrolment.person.home_lng) == (31.5, 104.5)
    assert sorted(_actions()) == ["home_point_corrected", "home_point_entered"]


@pytest.mark.parametrize("lat, lng", [(90.0, 180.0), (-90.0, -180.0)])
def test_the_poles_and_the_date_line_are_points(elder_enrolment, admin, lat, lng):
    enrolment, _ = elder_enrolment
    homepoint.decide(admin, enrolment.person, lat, lng)
    assert (enrolment.person.home_lat, enrolment.person.home_lng) == (lat, lng)


@pytest.mark.parametrize(
    "lat, lng, field",
    [
        (90.000001, 104.0, "lat"),
        (31.0, -180.000001, "lng"),
        (float("nan"), 104.0, "lat"),
        (31.0, float("inf"), "lng"),
        (31.0, None, "lng"),
        (None, 104.0, "lat"),
    ],
)
def test_a_point_out_of_range_or_half_given_is_refused(elder_enrolment, admin, lat, lng, field):
    enrolment, _ = elder_enrolment
    with pytest.raises(Invalid) as exc:
        homepoint.decide(admin, enrolment.person, lat, lng)
    assert field in exc.value.fields
    assert enrolment.person.home_lat is None
    assert _actions() == []
