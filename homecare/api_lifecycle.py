"""The enrolment's lifecycle in the API (API.md "Lifecycles"): withdrawal and change of
provider mid-year, on the home-care blueprint. The bureau's clerks only: a provider
neither ends nor moves an elder's enrolment. Thin: parse, call lifecycle, commit once."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from eldercare.apikit import Body, endpoint
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role

from . import lifecycle, services
from . import scoping as hc
from .api import Loose, bp
from .serializers import enrolment_json

CLERKS = (Role.ADMIN,)


class WithdrawIn(Body):
    date: dt.date
    reason: str = Field(min_length=1, max_length=200)


class TransferIn(Body):
    provider_id: int
    date: dt.date


def _json(e) -> dict:
    return enrolment_json(e, services.ledger_summaries([e.id]).get(e.id))


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/withdraw",
    ["POST"],
    roles=CLERKS,
    body=WithdrawIn,
    response=Loose,
    summary="Withdraw an elder from home care from a date: the enrolment ends, its "
    "balance stays in the ledger, frozen; no visit from the date draws from it",
)
def withdraw(enrolment_id: int, body: WithdrawIn):
    user = api_user()
    e = lifecycle.withdraw(user, hc.get_enrolment(user, enrolment_id), body.date, body.reason)
    out = _json(e)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/enrolments/<int:enrolment_id>/transfer",
    ["POST"],
    roles=CLERKS,
    body=TransferIn,
    response=Loose,
    status=201,
    summary="Change the elder's provider from a date: a new enrolment with the whole "
    "balance, in one transaction; the old card stops working",
)
def transfer(enrolment_id: int, body: TransferIn):
    user = api_user()
    old = hc.get_enrolment(user, enrolment_id)
    new = lifecycle.transfer(user, old, services.get_provider(body.provider_id), body.date)
    out = _json(new)
    db.session.commit()
    return out
