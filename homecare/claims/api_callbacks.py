"""Claims API, call-backs (电话回访) and the provider scorecard their outcomes feed: the
visits of a claim drawn for a call-back, the bureau recording an outcome, a provider's
months scored. A provider reads only recorded outcomes of its own visits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from eldercare.apikit import Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db

from .. import scoping as hc
from . import callbacks, scorecards
from .api import BUREAU, READERS, Loose, bp
from .models import CallbackSample
from .scoping import get_callback, get_claim, sees_callback_notes


def sample_json(s: CallbackSample, user=None) -> dict:
    """A call-back as `user` may read it: the bureau everything; a provider (which sees
    only recorded ones, scoping.callback_scope) the visit and the outcome alone."""
    out = {
        "visit_id": s.visit_id,
        "claim_id": s.claim_id,
        "outcome": s.outcome.value if s.outcome else None,
        "recorded_at": s.recorded_at,
    }
    if user is not None and not sees_callback_notes(user):
        return out
    return out | {
        "id": s.id,
        "provider_id": s.provider_id,
        "reason": s.reason.value,
        "note": s.note,
    }


class LooseList(BaseModel):
    items: list[Loose]
    total: int
    page: int
    per_page: int


@endpoint(
    bp,
    "/claims/<int:claim_id>/callbacks",
    roles=READERS,
    query=PageQuery,
    response=LooseList,
    summary="The visits of a claim marked for a telephone call-back, in the list shape "
    "(a provider: only those whose outcome is recorded, and only the outcome)",
)
def claim_callbacks(claim_id: int, query: PageQuery):
    user = api_user()
    return paginate(
        callbacks.samples_select(get_claim(user, claim_id), user),
        query,
        lambda s: sample_json(s, user),
    )


class OutcomeIn(Body):
    outcome: Literal["confirmed", "not_delivered", "unreachable", "complaint"]
    note: str = Field("", max_length=500)


@endpoint(
    bp,
    "/callbacks/<int:sample_id>",
    ["POST"],
    roles=BUREAU,
    body=OutcomeIn,
    response=Loose,
    summary="Record a call-back's outcome; not_delivered reverses",
)
def record_callback(sample_id: int, body: OutcomeIn):
    user = api_user()
    sample = get_callback(user, sample_id)
    s = callbacks.record_outcome(sample, body.outcome, body.note, user)
    out = sample_json(s, user)
    db.session.commit()
    return out


class YearQuery(BaseModel):
    year: int | None = Field(None, ge=2000, le=2100)


@endpoint(
    bp,
    "/providers/<int:provider_id>/scorecard",
    roles=READERS,
    query=YearQuery,
    response=Loose,
    summary="A provider's scorecard, month by month",
)
def scorecard(provider_id: int, query: YearQuery):
    provider = hc.get_provider(api_user(), provider_id)
    return scorecards.scorecard_json(provider, query.year)
