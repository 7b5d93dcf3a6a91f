"""The exceptions a visit is flagged with when it is scanned, and the limits that decide
them: where the phone was (far_from_home, no_home_point, suspect_card), whether the elder
was enrolled and alive (deceased, not_enrolled), and the worker's other homes
(worker_overlap). visits.py applies them; claims reconcile against the same limits
(claims/reconcile.py imports them from here, never copies them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import PersonStatus
from eldercare.timeutil import to_local

from .models import Enrolment, EnrolmentStatus, Visit, VisitStatus

CLOCK_TOLERANCE = timedelta(minutes=5)  # a phone's clock may run a little ahead
MIN_VISIT = timedelta(minutes=10)  # shorter than this is `too_short`
HOURS_TOLERANCE_MIN = 10  # hours picked may exceed the time on site by this much
FAR_FROM_HOME_M = 1000  # US EVV flags a mile; the bureau asked for 1 km
OPEN_VISIT_WINDOW = timedelta(hours=12)  # older open visits are stale (no_check_out)
SUSPECT_WINDOW = timedelta(minutes=10)
SUSPECT_SPOT_M = 100  # "one spot"
SUSPECT_ELDERS = 3  # this many elders' cards from one spot within the window
SCATTER_DAYS = 30
SCATTER_PLACES = 2  # earlier scans of the same card > 1 km from this one
#: A scan made this long before the server received it is `late_upload`: long enough for
#: an honest phone without signal from Friday evening to Monday morning, short enough
#: that a month's visits cannot be typed in at its end (EVV aggregators hold such visits).
LATE_UPLOAD = timedelta(hours=72)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * r * math.asin(math.sqrt(a)))


def status_exceptions(enrolment: Enrolment, at: datetime) -> list[str]:
    """deceased / not_enrolled on the local date of `at`."""
    out = []
    day = to_local(at).date()
    person = enrolment.person
    if person.status == PersonStatus.DECEASED and person.death_date and person.death_date <= day:
        out.append("deceased")
    ended = (
        enrolment.status == EnrolmentStatus.ENDED
        and enrolment.ended_on is not None
        and enrolment.ended_on <= day
    )
    if (
        (ended and "deceased" not in out)
        or enrolment.year != day.year
        or day < enrolment.enrolled_on
    ):
        out.append("not_enrolled")
    return out


def place(visit: Visit, lat: float | None, lng: float | None) -> None:
    """far_from_home against the elder's home point; without one the visit cannot be
    placed, which is said (no_home_point) rather than passed as clean."""
    person = visit.enrolment.person
    if person.home_lat is None or person.home_lng is None:
        visit.flag("no_home_point")
        return
    if lat is None or lng is None or person.home_lat is None or person.home_lng is None:
        return
    d = distance_m(lat, lng, person.home_lat, person.home_lng)
    visit.distance_m = max(d, visit.distance_m or 0)
    if d > FAR_FROM_HOME_M:
        visit.flag("far_from_home")


# --- what a check-in is compared with -----------------------------------------------------
# Each rule's rows are one query, built here once; a check-in asks them all in one
# statement (`around`, issue 15: a scan is cheap), the functions below one at a time.


def _open_q(worker_id: int, enrolment_id: int, at: datetime) -> sa.Select:
    """This worker's visit to this elder still open (within OPEN_VISIT_WINDOW)."""
    return _rows("open").where(
        Visit.worker_id == worker_id,
        Visit.enrolment_id == enrolment_id,
        Visit.status == VisitStatus.OPEN,
        Visit.check_in_at > at - OPEN_VISIT_WINDOW,
    )


def _overlap_q(worker_id: int, enrolment_id: int, at: datetime) -> sa.Select:
    """Another home of the same worker where they were still on site at `at`."""
    return _rows("overlap").where(
        Visit.worker_id == worker_id,
        Visit.enrolment_id != enrolment_id,
        Visit.check_in_at <= at,
        Visit.check_in_at > at - OPEN_VISIT_WINDOW,
        sa.or_(
            Visit.check_out_at > at,
            sa.and_(Visit.check_out_at.is_(None), Visit.status == VisitStatus.OPEN),
        ),
    )


def _nearby_q(worker_id: int, enrolment_id: int, at: datetime) -> sa.Select:
    """The same worker's placed scans of other elders' cards within SUSPECT_WINDOW."""
    return _rows("nearby").where(
        Visit.worker_id == worker_id,
        Visit.enrolment_id != enrolment_id,
        Visit.lat.is_not(None),
        Visit.check_in_at.between(at - SUSPECT_WINDOW, at + SUSPECT_WINDOW),
    )


def _earlier_q(enrolment_id: int, at: datetime) -> sa.Select:
    """The same card's placed scans in the SCATTER_DAYS before `at`, by anyone."""
    return _rows("earlier").where(
        Visit.enrolment_id == enrolment_id,
        Visit.lat.is_not(None),
        Visit.check_in_at.between(at - timedelta(days=SCATTER_DAYS), at),
    )


def _rows(tag: str) -> sa.Select:
    return sa.select(sa.literal(tag).label("tag"), Visit.enrolment_id, Visit.lat, Visit.lng)


@dataclass
class Around:
    """What a check-in at `at` is compared with, before its visit is written."""

    open: bool = False  # this worker has this elder's visit open
    overlap: bool = False  # still on site at another home (worker_overlap)
    nearby: list[tuple[int, float, float]] = field(default_factory=list)
    earlier: list[tuple[float, float]] = field(default_factory=list)

    def suspect(self, lat: float | None, lng: float | None) -> bool:
        """A likely photographed card: several elders' cards scanned from one spot
        within minutes, or one card scanned from scattered places."""
        if lat is None or lng is None:
            return False  # not placed: nothing to compare (no_location says so)
        elders = {e for e, la, ln in self.nearby if distance_m(la, ln, lat, lng) <= SUSPECT_SPOT_M}
        if len(elders) + 1 >= SUSPECT_ELDERS:
            return True
        far = [1 for la, ln in self.earlier if distance_m(la, ln, lat, lng) > FAR_FROM_HOME_M]
        return len(far) >= SCATTER_PLACES


def around(
    worker_id: int, enrolment_id: int, at: datetime, *, located: bool, open_check: bool = True
) -> Around:
    """The open visit, the overlap and the suspect-card rows of a check-in not yet
    written, in one statement (the scans to compare only when it is placed)."""
    parts = [_overlap_q(worker_id, enrolment_id, at)]
    if open_check:
        parts.append(_open_q(worker_id, enrolment_id, at))
    if located:
        parts += [_nearby_q(worker_id, enrolment_id, at), _earlier_q(enrolment_id, at)]
    out = Around()
    for tag, enrolment, lat, lng in db.session.execute(sa.union_all(*parts)):
        if tag == "open":
            out.open = True
        elif tag == "overlap":
            out.overlap = True
        elif tag == "nearby":
            out.nearby.append((enrolment, lat, lng))
        else:
            out.earlier.append((lat, lng))
    return out


def later(other, visit, at: datetime) -> list[sa.ColumnElement[bool]]:
    """`other` is a visit the same worker began at another home while `visit` was open
    (it ends at `at`): both are then worker_overlap. `visit` is a Visit or, for a
    correlated subquery, the Visit entity (`other` an alias of it)."""
    return [
        other.worker_id == visit.worker_id,
        other.id != visit.id,
        other.enrolment_id != visit.enrolment_id,
        other.check_in_at > visit.check_in_at,
        other.check_in_at < at,
    ]


def overlapping_before(visit: Visit) -> bool:
    """Another home of the same worker where they were still on site at check-in."""
    rows = _overlap_q(visit.worker_id, visit.enrolment_id, visit.check_in_at)
    return db.session.scalar(sa.select(rows.where(Visit.id != visit.id).exists())) or False


def suspect(visit: Visit) -> bool:
    """A likely photographed card (Around.suspect), for a visit already written."""
    if visit.lat is None or visit.lng is None:
        return False
    at, others = visit.check_in_at, Visit.id != visit.id
    nearby = _nearby_q(visit.worker_id, visit.enrolment_id, at).where(others)
    earlier = _earlier_q(visit.enrolment_id, at).where(others)
    found = Around(
        nearby=[(e, la, ln) for _t, e, la, ln in db.session.execute(nearby)],
        earlier=[(la, ln) for _t, _e, la, ln in db.session.execute(earlier)],
    )
    return found.suspect(visit.lat, visit.lng)
