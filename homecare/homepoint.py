"""The elder's home point (住址定位): proposed from the first visits, decided by the bureau.

`far_from_home` needs a home point, and a home point typed by nobody is a guess. The
proposal is the median of the first five located check-ins at the elder's home (lat and
lng separately: two wrong scans out of five do not move it); the bureau accepts it or
types a corrected point, on the person page or through the API, and the decision is
audited with the proposal it was made on. Until an elder has a home point, their
visits are flagged `no_home_point` (visits.py).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare import audit
from eldercare import scoping as core_scoping
from eldercare.auth.web import role_required
from eldercare.errors import Conflict, DomainError, Invalid
from eldercare.extensions import db
from eldercare.models import Person, Role, User

from .flags import distance_m
from .models import Enrolment, Visit

PROPOSAL_VISITS = 5  # located check-ins a proposal is made from
DECIDERS = (Role.ADMIN,)  # the bureau decides an elder's home point
READERS = (Role.ADMIN, Role.AUDITOR)

bp = Blueprint("homecare_homepoint", __name__)


@dataclass
class Proposal:
    lat: float
    lng: float
    visit_ids: list[int]
    spread_m: int  # the farthest of those check-ins from the proposed point

    def as_json(self) -> dict:
        return {
            "lat": round(self.lat, 6),
            "lng": round(self.lng, 6),
            "visit_ids": self.visit_ids,
            "spread_m": self.spread_m,
        }


def proposal(person: Person) -> Proposal | None:
    """The median of the elder's first PROPOSAL_VISITS located check-ins (manual visits
    have no place and are left out), or None while there are fewer."""
    rows = db.session.execute(
        sa.select(Visit.id, Visit.lat, Visit.lng)
        .join(Enrolment, Enrolment.id == Visit.enrolment_id)
        .where(
            Enrolment.person_id == person.id,
            Visit.lat.is_not(None),
            Visit.lng.is_not(None),
            Visit.manual.is_(False),
        )
        .order_by(Visit.check_in_at, Visit.id)
        .limit(PROPOSAL_VISITS)
    ).all()
    if len(rows) < PROPOSAL_VISITS:
        return None
    lat = statistics.median(r.lat for r in rows)
    lng = statistics.median(r.lng for r in rows)
    spread = max(distance_m(lat, lng, r.lat, r.lng) for r in rows)
    return Proposal(lat, lng, [r.id for r in rows], spread)


def state(person: Person) -> dict:
    """The home point as the API and the panel show it."""
    p = None if person.home_lat is not None and person.home_lng is not None else proposal(person)
    return {
        "person_id": person.id,
        "home_lat": person.home_lat,
        "home_lng": person.home_lng,
        "proposal": p.as_json() if p else None,
    }


def _checked(lat: float, lng: float) -> tuple[float, float]:
    fields = {}
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        fields["lat"] = "纬度须在 -90 到 90 之间"
    if not (math.isfinite(lng) and -180 <= lng <= 180):
        fields["lng"] = "经度须在 -180 到 180 之间"
    if fields:
        raise Invalid(_l("住址定位有误"), fields=fields)
    return lat, lng


def decide(
    user: User, person: Person, lat: float | None = None, lng: float | None = None
) -> Person:
    """Set the elder's home point: the proposal accepted (no lat/lng given) or a point
    the bureau typed (corrected). Raises Conflict `no_proposal` when there is nothing to
    accept, Invalid for a point out of range or only one coordinate. Changes the person's
    home_lat/home_lng (audited as a change) and records the decision with the proposal
    it was made on."""
    if (lat is None) != (lng is None):
        raise Invalid(
            _l("纬度和经度须同时填写"), fields={"lat" if lat is None else "lng": _l("必填")}
        )
    p = proposal(person)
    if lat is None or lng is None:
        if p is None:
            raise Conflict(
                _l("尚无可采纳的建议定位：需要老人家中至少 5 次带定位的签到"), code="no_proposal"
            )
        lat, lng, how = round(p.lat, 6), round(p.lng, 6), "accepted"
    else:
        lat, lng = _checked(float(lat), float(lng))
        how = "corrected" if p is not None else "entered"
    before = (person.home_lat, person.home_lng)
    person.home_lat, person.home_lng = lat, lng
    db.session.flush()
    audit.record(
        "home_point_" + how,
        "person",
        person.id,
        {
            "by": user.id,
            "before": list(before),
            "home_point": [lat, lng],
            "proposal": p.as_json() if p else None,
        },
    )
    return person


# --- the person page's panel -------------------------------------------------------------


def panel(person: Person) -> dict:
    """The person page's section (registry person_panels): the bureau sees the home point
    or the proposal, and an admin decides it."""
    if not current_user.is_authenticated or current_user.role not in READERS:
        return {"show": False}
    return {"show": True, "decide": current_user.role in DECIDERS, **state(person)}


def _float(name: str) -> float | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(_l("住址定位有误"), fields={name: _l("须为数字")}) from None


@bp.post("/homecare/people/<int:person_id>/home-point")
@role_required(*DECIDERS)
def decide_page(person_id: int):
    """The panel's form: accept the proposal, or save the point typed in."""
    person = core_scoping.get_person(current_user, person_id)
    try:
        if request.form.get("accept"):
            decide(current_user, person)
        else:
            decide(current_user, person, _float("lat"), _float("lng"))
        db.session.commit()
        flash(_("已保存 %(name)s 的住址定位", name=person.name), "success")
    except DomainError as exc:
        db.session.rollback()
        flash(
            exc.message if not exc.fields else exc.message + "：" + "；".join(exc.fields.values()),
            "danger",
        )
    return redirect(url_for("people.show", person_id=person_id), 303)
