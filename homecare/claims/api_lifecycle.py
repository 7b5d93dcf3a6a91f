"""Claims API, the steps before reconciliation (API.md "Lifecycles"): a provider submits
its draft; the provider or the bureau withdraws a draft or submitted claim. Scope as for
every claim (scoping.get_claim: another provider's claim is 404)."""

from __future__ import annotations

from flask import request
from pydantic import Field, ValidationError

from eldercare.api_errors import ApiError
from eldercare.apikit import Body, endpoint, validation_fields
from eldercare.auth.web import api_user
from eldercare.extensions import db

from . import lifecycle
from .api import SUBMITTERS, ClaimOut, bp, claim_json
from .scoping import get_claim


class WithdrawIn(Body):
    reason: str = Field("", max_length=500)


def _optional_body(model):
    """A body that may be left out (most withdrawals give no reason)."""
    data = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_request", "请求体须为 JSON 对象")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "输入有误", validation_fields(exc)) from None


@endpoint(
    bp,
    "/claims/<int:claim_id>/withdraw",
    ["POST"],
    roles=SUBMITTERS,
    response=ClaimOut,
    summary='Withdraw a draft or submitted claim (optional {"reason"}); its visits '
    "may be claimed again. 409 once reconciled",
)
def withdraw(claim_id: int):
    body = _optional_body(WithdrawIn)
    user = api_user()
    c = lifecycle.withdraw(get_claim(user, claim_id), user, body.reason)
    out = claim_json(c)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/claims/<int:claim_id>/submit",
    ["POST"],
    roles=SUBMITTERS,
    response=ClaimOut,
    summary="Submit a draft claim (made by the draft-claims job) for reconciliation",
)
def submit(claim_id: int):
    user = api_user()
    c = lifecycle.submit(get_claim(user, claim_id), user)
    out = claim_json(c)
    db.session.commit()
    return out
