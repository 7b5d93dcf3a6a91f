"""Claims API (API.md "Claims and reconciliation"). Thin: parse, call a service, commit
once, answer. Scope: a provider admin sees and submits only its own claims (others
404); only the bureau reconciles, overrides, approves and pays; auditors read."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from eldercare.api_errors import ApiError
from eldercare.apikit import Body, PageQuery, endpoint, paginate, validation_fields
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import Month

from .. import scoping as hc
from . import callbacks, decisions, presence, recoveries, scorecards, services, statements
from .files import ClaimFileInvalid, parse
from .models import CallbackSample, Claim, ClaimLine, reasons_of
from .scoping import claims, get_callback, get_claim, sees_callback_notes

bp = Blueprint("claims_api", __name__, url_prefix="/api/v1/homecare")

BUREAU = (Role.ADMIN,)
SUBMITTERS = (Role.ADMIN, Role.PROVIDER)
READERS = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER)

MoneyOut = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["300.00"]}),
]
MonthText = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


STATUSES = Literal["draft", "submitted", "reconciled", "approved", "paid", "withdrawn"]


class SubmittedOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    status: Literal["submitted", "draft"]
    lines: int
    supplementary: bool = Field(False, description="补报: the month had a claim already")


class Totals(BaseModel):
    claimed: MoneyOut
    approved: MoneyOut
    rejected: MoneyOut
    recovered: MoneyOut | None = Field(
        None, description="recoveries (扣回) of earlier claims deducted from this one"
    )
    payable: MoneyOut | None = Field(None, description="approved less recovered")


class RecoveryOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    visit_id: int
    amount: MoneyOut
    from_claim_id: int


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


class ClaimOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    provider_id: int
    month: str
    status: STATUSES
    supplementary: bool = False
    lines: int
    totals: Totals


class ClaimDetailOut(ClaimOut):
    recoveries: list[RecoveryOut]


class ClaimList(BaseModel):
    items: list[ClaimOut]
    total: int
    page: int
    per_page: int


def _step(user, at) -> dict | None:
    return (
        {"by": user.display_name or user.username, "at": at}
        if at and user
        else ({"by": None, "at": at} if at else None)
    )


def claim_json(c: Claim) -> dict:
    return {
        "id": c.id,
        "provider_id": c.provider_id,
        "provider": c.provider.name,
        "month": c.month,
        "status": c.status.value,
        "source": c.source.value,
        "supplementary": c.supplementary,
        "lines": c.line_count,
        "totals": {
            "claimed": c.claimed_total,
            "approved": c.approved_total,
            "rejected": c.rejected_total,
            "recovered": c.recovered_total,
            "payable": c.payable,
        },
        "history": {
            "submitted": _step(c.submitted_by, c.submitted_at),
            "reconciled": _step(c.reconciled_by, c.reconciled_at),
            "approved": _step(c.approved_by, c.approved_at),
            "paid": _step(c.paid_by, c.paid_at),
            "withdrawn": _step(c.withdrawn_by, c.withdrawn_at),
        },
    }


def _submitted(c: Claim) -> dict:
    return {
        "id": c.id,
        "status": c.status.value,
        "lines": c.line_count,
        "provider_id": c.provider_id,
        "month": c.month,
        "supplementary": c.supplementary,
    }


@endpoint(
    bp,
    "/claims",
    ["POST"],
    roles=SUBMITTERS,
    response=SubmittedOut,
    status=201,
    multipart={"provider_id": "integer", "month": "YYYY-MM", "file": "file"},
    summary="Submit a month's claim as CSV (UTF-8 or GBK) or .xlsx; all or nothing",
)
def upload():
    user = api_user()
    provider_id = request.form.get("provider_id", "").strip()
    upload = request.files.get("file")
    if not provider_id.isdigit():
        raise ApiError(400, "malformed_request", "缺少服务组织", {"provider_id": "必填（整数）"})
    if upload is None or not upload.filename:
        raise ApiError(400, "malformed_request", "缺少文件", {"file": "请选择 .csv 或 .xlsx 文件"})
    provider = hc.get_provider(user, int(provider_id))
    month = Month.parse(request.form.get("month"))
    try:
        lines = parse(upload.read(), services.service_codes(month.year))
    except ClaimFileInvalid as exc:
        db.session.rollback()
        resp = jsonify(
            {
                "error": {
                    "code": exc.code,
                    "message": exc.message,
                    "fields": exc.fields,
                    "errors": exc.problems,
                }
            }
        )
        resp.status_code = 422
        return resp
    claim = services.submit_lines(provider, month.text, lines, user, upload.filename or "")
    out = _submitted(claim)
    db.session.commit()
    return out


class GenerateIn(Body):
    provider_id: int
    month: MonthText


@endpoint(
    bp,
    "/claims/generate",
    ["POST"],
    roles=SUBMITTERS,
    body=GenerateIn,
    response=SubmittedOut,
    status=201,
    summary="Build a month's claim from logged visits",
)
def generate(body: GenerateIn):
    user = api_user()
    provider = hc.get_provider(user, body.provider_id)
    claim = services.generate(provider, body.month, user)
    out = _submitted(claim)
    db.session.commit()
    return out


class ClaimQuery(PageQuery):
    provider_id: int | None = None
    month: MonthText | None = None
    status: STATUSES | None = None
    year: int | None = Field(None, ge=2000, le=2100)


def filtered_claims(user, q) -> sa.Select:
    stmt = claims(user)
    if q.provider_id:
        stmt = stmt.where(Claim.provider_id == q.provider_id)
    if q.month:
        stmt = stmt.where(Claim.month == q.month)
    if getattr(q, "year", None):
        stmt = stmt.where(Claim.month.startswith(f"{q.year}-"))
    if q.status:
        stmt = stmt.where(Claim.status == q.status)
    return stmt.order_by(Claim.month.desc(), Claim.provider_id)


@endpoint(
    bp,
    "/claims",
    roles=READERS,
    query=ClaimQuery,
    response=ClaimList,
    summary="Claims with their status and totals (provider_id, month filters)",
)
def list_claims(query: ClaimQuery):
    return paginate(filtered_claims(api_user(), query), query, claim_json)


@endpoint(
    bp,
    "/claims/<int:claim_id>",
    roles=READERS,
    response=ClaimDetailOut,
    summary="One claim: status with who and when, totals, exceptions per reason, "
    "the recoveries (扣回) of earlier claims it deducts",
)
def show_claim(claim_id: int):
    c = get_claim(api_user(), claim_id)
    return claim_json(c) | {
        "exceptions": decisions.exception_counts(c),
        "held": presence.summary(c),
        "recoveries": recoveries.of_claim(c),
    }


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
        statements.xlsx(c),
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
    c = get_claim(api_user(), claim_id)
    return Response(
        statements.pdf(c),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=claim-{c.id}-{c.month}.pdf"},
    )


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
