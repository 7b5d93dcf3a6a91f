"""Home care API, what a scan is checked against: an elder's QR card (PNG, SVG, reissued:
the old one stops working) and home point (homepoint.py: proposed from the first located
check-ins, set or corrected by a clerk). On the same blueprint as api.py."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from eldercare import scoping as core_scoping
from eldercare.apikit import Body, endpoint
from eldercare.auth.web import api_user
from eldercare.extensions import db

from . import cards, homepoint
from . import scoping as hc
from .api import CARD_ROLES, Loose, bp
from .models import Enrolment


def _card_enrolment(enrolment_id: int) -> Enrolment:
    return hc.get_enrolment(api_user(), enrolment_id)


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/card.png",
    roles=CARD_ROLES,
    raw=True,
    summary="The QR card as PNG",
)
def card_png(enrolment_id: int):
    e = _card_enrolment(enrolment_id)
    return Response(cards.png(cards.url(e)), mimetype="image/png")


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/card.svg",
    roles=CARD_ROLES,
    raw=True,
    summary="The QR card as SVG",
)
def card_svg(enrolment_id: int):
    e = _card_enrolment(enrolment_id)
    return Response(cards.svg(cards.url(e)), mimetype="image/svg+xml")


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/card/reissue",
    ["POST"],
    roles=CARD_ROLES,
    response=Loose,
    status=201,
    summary="A new card; the old one stops working",
)
def card_reissue(enrolment_id: int):
    e = cards.reissue(_card_enrolment(enrolment_id))
    out = {
        "enrolment_id": e.id,
        "card_serial": e.card_serial,
        "url": cards.url(e),
        "card_number": cards.short_number(e),
    }
    db.session.commit()
    return out


class HomePointIn(Body):
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)


class HomePointOut(BaseModel):
    person_id: int
    home_lat: float | None
    home_lng: float | None
    proposal: Loose | None = Field(
        description="median of the first five located check-ins: lat, lng, visit_ids, "
        "spread_m; null once a home point is set or while there are fewer"
    )


@endpoint(
    bp,
    "/people/<int:person_id>/home-point",
    roles=homepoint.READERS,
    response=HomePointOut,
    summary="An elder's home point and, while there is none, "
    "the proposal from the first located check-ins",
)
def show_home_point(person_id: int):
    return homepoint.state(core_scoping.get_person(api_user(), person_id))


@endpoint(
    bp,
    "/people/<int:person_id>/home-point",
    ["POST"],
    roles=homepoint.DECIDERS,
    body=HomePointIn,
    response=HomePointOut,
    summary="Set the home point: an empty body accepts the proposal (409 no_proposal "
    "when there is none), lat and lng correct it; audited",
)
def decide_home_point(person_id: int, body: HomePointIn):
    person = core_scoping.get_person(api_user(), person_id)
    homepoint.decide(api_user(), person, body.lat, body.lng)
    out = homepoint.state(person)
    db.session.commit()
    return out
