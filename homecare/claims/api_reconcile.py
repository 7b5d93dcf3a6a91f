"""Claims API, reconciliation and after (API.md "Claims and reconciliation"): a claim's lines
as decided, reconcile, a clerk's override of a line, approve, pay, and the settlement
statement. Only the bureau decides; readers see the lines and the statement."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from flask import Response, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eldercare.api_errors import ApiError
from eldercare.apikit import Body, PageQuery, endpoint, paginate, validation_fields
from eldercare.auth.web import api_user
from eldercare.extensions import db

from . import decisions, presence, services
from .api import BUREAU, READERS, ClaimOut, Loose, MoneyOut, Totals, bp, claim_json
from .models import Claim, ClaimLine, reasons_of
from .scoping import get_claim
from .statement_xlsx import xlsx


class LineOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    line_no: int
    visit_id: int | None
    claimed: MoneyOut
    approved: MoneyOut | None
    decision: Literal["approved", "adjusted", "rejected"] | None
    reasons: list[str]
    held: bool = Field(
        False,
        description="a presence exception not yet accepted or rejected "
        "by a clerk: the claim waits for it",
    )


class ReconciledOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    status: Literal["reconciled"]
    totals: Totals
    lines: list[LineOut]


class LineQuery(PageQuery):
    decision: Literal["approved", "adjusted", "rejected"] | None = None
    reason: str | None = Field(None, max_length=30)
    held: bool | None = Field(None, description="only the lines held (true) or not (false)")


@endpoint(
    bp,
    "/claims/<int:claim_id>/lines",
    roles=READERS,
    query=LineQuery,
    response=Loose,
    summary="A claim's lines as claimed and decided, by page",
)
def claim_lines(claim_id: int, query: LineQuery):
    c = get_claim(api_user(), claim_id)
    stmt = sa.select(ClaimLine).where(ClaimLine.claim_id == c.id)
    if query.decision:
        stmt = stmt.where(ClaimLine.decision == query.decision)
    if query.reason:
        from .models import BIT

        if query.reason not in BIT:
            raise ApiError(400, "malformed_request", _l("未知的原因代码"), {"reason": "未知"})
        stmt = stmt.where(ClaimLine.reason_bits.op("&")(BIT[query.reason]) != 0)
    if query.held is not None:
        stmt = stmt.where(presence.held_clause() if query.held else sa.not_(presence.held_clause()))
    return paginate(stmt.order_by(ClaimLine.line_no), query, line_json)


def line_json(x: ClaimLine) -> dict:
    return {
        "line_no": x.line_no,
        "visit_id": x.visit_id,
        "service_date": x.service_date,
        "service_code": x.service_code,
        "quantity": x.quantity,
        "claimed": x.amount,
        "approved": x.approved_amount,
        "decision": x.decision.value if x.decision else None,
        "reasons": reasons_of(x.reason_bits),
        "auto": {
            "decision": x.auto_decision.value if x.auto_decision else None,
            "approved": x.auto_amount,
        },
        "override": (
            {
                "decision": x.override_decision.value,
                "amount": x.override_amount,
                "reason": x.override_reason,
                "at": x.override_at,
            }
            if x.override_decision
            else None
        ),
        "held": presence.is_held(x.reason_bits, x.accepted_bits, x.decision),
        "accepted": (
            {
                "exceptions": reasons_of(x.accepted_bits),
                "reason": x.accepted_reason,
                "note": x.accepted_note,
                "at": x.accepted_at,
            }
            if x.accepted_bits
            else None
        ),
    }


def _reconciled(c: Claim) -> dict:
    return {
        "id": c.id,
        "status": c.status.value,
        "totals": {
            "claimed": c.claimed_total,
            "approved": c.approved_total,
            "rejected": c.rejected_total,
        },
        "held": presence.held_count(c),
        "lines": decisions.lines(c),
    }


@endpoint(
    bp,
    "/claims/<int:claim_id>/reconcile",
    ["POST"],
    roles=BUREAU,
    response=ReconciledOut,
    summary="Decide every line; the same answer every time",
)
def reconcile(claim_id: int):
    c = get_claim(api_user(), claim_id)
    services.reconcile(c, api_user())
    out = _reconciled(c)
    db.session.commit()
    return out


class ApproveIn(Body):
    override_reason: str = Field("", max_length=500)


@endpoint(
    bp,
    "/claims/<int:claim_id>/approve",
    ["POST"],
    roles=BUREAU,
    response=ClaimOut,
    summary="Approve a reconciled claim for payment; while drawn call-backs are not "
    "recorded, 409 callbacks_pending unless the body has "
    '{"override_reason": "..."} (kept in the audit log)',
)
def approve(claim_id: int):
    # The body is optional (most approvals have none), so it is read here rather than
    # declared: `endpoint` refuses a request without one.
    data = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_request", "请求体须为 JSON 对象")
    try:
        body = ApproveIn.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "输入有误", validation_fields(exc)) from None
    c = services.approve(get_claim(api_user(), claim_id), api_user(), body.override_reason)
    out = claim_json(c)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/claims/<int:claim_id>/pay",
    ["POST"],
    roles=BUREAU,
    response=ClaimOut,
    summary="Record the payment of an approved claim",
)
def pay(claim_id: int):
    c = services.pay(get_claim(api_user(), claim_id), api_user())
    out = claim_json(c)
    db.session.commit()
    return out


class OverrideIn(Body):
    decision: Literal["approved", "adjusted", "rejected", "auto"]
    reason: str = Field("", max_length=500)
    amount: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=2)


@endpoint(
    bp,
    "/claims/<int:claim_id>/lines/<int:line_no>/override",
    ["POST"],
    roles=BUREAU,
    body=OverrideIn,
    response=Loose,
    summary="The clerk's decision on a line, with a written reason (audited)",
)
def override(claim_id: int, line_no: int, body: OverrideIn):
    c = get_claim(api_user(), claim_id)
    line = decisions.override(c, line_no, body.decision, body.reason, api_user(), body.amount)
    out = line_json(line) | {
        "totals": {
            "claimed": c.claimed_total,
            "approved": c.approved_total,
            "rejected": c.rejected_total,
        }
    }
    db.session.commit()
    return out


@endpoint(
    bp,
    "/claims/<int:claim_id>/statement.xlsx",
    roles=READERS,
    raw=True,
    summary="Settlement statement (Excel)",
)
def statement_xlsx(claim_id: int):
    c = get_claim(api_user(), claim_id)
    return Response(
        xlsx(c),
        headers={"Content-Disposition": f"attachment; filename=claim-{c.id}-{c.month}.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@endpoint(
    bp,
    "/claims/<int:claim_id>/statement.pdf",
    roles=READERS,
    raw=True,
    summary="Settlement statement (PDF, Chinese text in STSong-Light)",
)
def statement_pdf(claim_id: int):
    from .statement_pdf import pdf  # reportlab loads with the first statement, not at start

    c = get_claim(api_user(), claim_id)
    return Response(
        pdf(c),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=claim-{c.id}-{c.month}.pdf"},
    )
