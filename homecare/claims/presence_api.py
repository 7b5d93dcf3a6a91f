"""Held claim lines (presence.py) through the API: the bureau accepts or rejects them.
Thin: parse, call the service, commit once, answer."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from eldercare.apikit import Body, endpoint
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role

from . import presence
from .api import Totals
from .models import PRESENCE_REASONS
from .scoping import get_claim

bp = Blueprint("claims_presence_api", __name__, url_prefix="/api/v1/homecare")


class ResolveIn(Body):
    action: Literal["accept", "reject"]
    reason: str = Field(
        max_length=30,
        description="accept: "
        + ", ".join(presence.ACCEPT_REASONS)
        + "; reject: "
        + ", ".join(presence.REJECT_REASONS),
    )
    note: str = Field("", max_length=500, description="required when reason is other")
    line_nos: list[int] | None = Field(None, max_length=presence.MAX_LINES)
    exception: Literal[PRESENCE_REASONS] | None = Field(  # type: ignore[valid-type]
        None, description="every held line carrying this presence exception"
    )


class ResolvedOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    resolved: int
    line_nos: list[int]
    held: int
    totals: Totals


@endpoint(
    bp,
    "/claims/<int:claim_id>/presence",
    ["POST"],
    roles=(Role.ADMIN,),
    body=ResolveIn,
    response=ResolvedOut,
    summary="Accept (paid as reconciled) or reject (nothing paid) the held lines of a "
    "reconciled claim, by line numbers or by presence exception, with a "
    "reason code; audited. Approval waits until no line is held (409 "
    "held_lines)",
)
def resolve(claim_id: int, body: ResolveIn):
    user = api_user()
    claim = get_claim(user, claim_id)
    out = presence.resolve(
        claim, user, body.action, body.reason, body.note, body.line_nos, body.exception
    )
    out["totals"] = {
        "claimed": claim.claimed_total,
        "approved": claim.approved_total,
        "rejected": claim.rejected_total,
    }
    db.session.commit()
    return out
