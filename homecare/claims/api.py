"""Claims API (API.md "Claims and reconciliation"): the blueprint, the shapes every claims
module answers with, and a claim submitted (uploaded or generated), listed and shown.
Thin: parse, call a service, commit once, answer. Scope: a provider admin sees and
submits only its own claims (others 404); only the bureau reconciles, overrides, approves
and pays; auditors read. More on the same blueprint by topic: api_lifecycle (submit,
withdraw), api_reconcile (lines, reconcile, override, approve, pay, statements),
api_callbacks (call-backs, scorecards)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from eldercare.api_errors import ApiError
from eldercare.apikit import Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import Month

from .. import scoping as hc
from . import decisions, presence, recoveries, services
from .files import ClaimFileInvalid, parse
from .models import Claim
from .scoping import claims, get_claim

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
