"""API of dynamic management (API.md "Comparison with other departments"), plus the
reviews, terminations and timeliness figures. Only the bureau (admin) writes; the
auditor reads; every other role is refused."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field

from eldercare import scoping
from eldercare.api_errors import ApiError
from eldercare.apikit import READERS, Body, PageQuery, endpoint, paginate
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import figures, services, wubao
from .models import Comparison, ComparisonKind, ComparisonRow, Proposal, Termination
from .serializers import (
    comparison_json,
    proposal_json,
    review_json,
    row_json,
    termination_json,
)

bp = Blueprint("dynamic_api", __name__, url_prefix="/api/v1")
WRITERS = (Role.ADMIN,)


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class ComparisonOut(Loose):
    id: int
    rows: int
    matched: int
    unmatched: int
    proposals: int


class ProposalOut(Loose):
    id: int
    person_id: int
    kind: Literal["death", "moved", "income", "propose_application"]
    date: dt.date
    effects: list[str]
    status: Literal["pending", "accepted", "rejected"]


class ProposalPage(BaseModel):
    items: list[ProposalOut]
    total: int
    page: int
    per_page: int


@endpoint(
    bp,
    "/comparisons",
    ["POST"],
    roles=WRITERS,
    response=ComparisonOut,
    status=201,
    multipart={
        "kind": "death|moved|income|disability|dibao|age",
        "file": "file",
        "source": "string",
    },
    summary="Upload another department's list (CSV or .xlsx) and match it",
)
def upload(**_):
    kind = (request.form.get("kind") or "").strip()
    if kind not in {k.value for k in ComparisonKind}:
        raise ApiError(
            422,
            "validation_failed",
            _l("比对类型无效"),
            {"kind": "、".join(k.value for k in ComparisonKind)},
        )
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "malformed_request", "缺少文件", {"file": "请选择 .xlsx 或 .csv 文件"})
    try:
        comp = services.upload_comparison(
            kind,
            upload.read(),
            filename=upload.filename,
            source=request.form.get("source", ""),
            user_id=api_user().id,
        )
    except services.ListInvalid as exc:
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
    out = comparison_json(comp)
    out["report"] = [row_json(r) for r in _rows(comp.id, problems_only=True)]
    db.session.commit()
    return out


def _rows(comparison_id: int, problems_only: bool = False) -> list[ComparisonRow]:
    stmt = sa.select(ComparisonRow).where(ComparisonRow.comparison_id == comparison_id)
    if problems_only:
        stmt = stmt.where(ComparisonRow.result != "matched")
    return list(db.session.scalars(stmt.order_by(ComparisonRow.row)))


@endpoint(
    bp, "/comparisons", roles=READERS, query=PageQuery, summary="Comparison lists, newest first"
)
def index(query: PageQuery):
    return paginate(sa.select(Comparison).order_by(Comparison.id.desc()), query, comparison_json)


@endpoint(
    bp,
    "/comparisons/<int:comparison_id>",
    roles=READERS,
    response=ComparisonOut,
    summary="One list: its counts and every row with what matching made of it",
)
def show(comparison_id: int):
    comp = services.get_comparison(comparison_id)
    return comparison_json(comp) | {"report": [row_json(r) for r in _rows(comp.id)]}


class ProposalQuery(PageQuery):
    status: Literal["pending", "accepted", "rejected"] | None = None


@endpoint(
    bp,
    "/comparisons/<int:comparison_id>/proposals",
    roles=READERS,
    query=ProposalQuery,
    response=ProposalPage,
    summary="The proposals of a list, each saying what accepting it would do",
)
def proposals(comparison_id: int, query: ProposalQuery):
    comp = services.get_comparison(comparison_id)
    stmt = sa.select(Proposal).where(Proposal.comparison_id == comp.id).order_by(Proposal.id)
    if query.status:
        stmt = stmt.where(Proposal.status == query.status)
    return paginate(stmt, query, proposal_json)


@endpoint(
    bp,
    "/proposals/<int:proposal_id>/accept",
    ["POST"],
    roles=WRITERS,
    response=ProposalOut,
    summary="Accept a proposal: apply it in one transaction",
)
def accept(proposal_id: int):
    proposal = services.accept(services.get_proposal(proposal_id), api_user().id)
    out = proposal_json(proposal)
    db.session.commit()
    return out


class RejectIn(Body):
    reason: str = Field(min_length=1, max_length=200)


@endpoint(
    bp,
    "/proposals/<int:proposal_id>/reject",
    ["POST"],
    roles=WRITERS,
    body=RejectIn,
    response=ProposalOut,
    summary="Reject a proposal, with the reason",
)
def reject(proposal_id: int, body: RejectIn):
    proposal = services.reject(services.get_proposal(proposal_id), body.reason, api_user().id)
    out = proposal_json(proposal)
    db.session.commit()
    return out


# --- reviews and terminations ------------------------------------------------------------


class ReviewQuery(PageQuery):
    kind: Literal["overdue", "due", "special"] = "overdue"
    township_code: str | None = Field(None, max_length=12)


@endpoint(
    bp,
    "/reviews",
    roles=READERS,
    query=ReviewQuery,
    summary="特困 persons whose annual review is overdue, due within 30 days, or special",
)
def reviews(query: ReviewQuery):
    stmt = wubao.reviews_stmt(query.kind, local_today(), query.township_code)
    total = (
        db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
        or 0
    )
    rows = db.session.execute(stmt.limit(query.per_page).offset((query.page - 1) * query.per_page))
    items = [
        {
            "person_id": p.id,
            "name": p.name,
            "township_code": p.township_code,
            "support": s.support.value,
            "review_due": s.review_due,
            "care_level": p.care_level.value if p.care_level else None,
        }
        for s, p in rows
    ]
    return {"items": items, "total": total, "page": query.page, "per_page": query.per_page}


class Assessment(Body):
    eating: bool
    dressing: bool
    transfer: bool
    toileting: bool
    walking: bool
    bathing: bool


class ReviewIn(Body):
    date: dt.date
    assessment: Assessment
    outcome: Literal["continue", "terminate"]
    reason: (
        Literal["work_ability", "imprisoned", "income_assets", "supporter_able", "voluntary"] | None
    ) = None
    notes: str = Field("", max_length=500)


@endpoint(
    bp,
    "/people/<int:person_id>/reviews",
    ["POST"],
    roles=WRITERS,
    body=ReviewIn,
    status=201,
    summary="Record a review: the six-item assessment sets the care level",
)
def record_review(person_id: int, body: ReviewIn):
    user = api_user()
    person = scoping.get_person(user, person_id)
    review = wubao.record_review(
        person,
        wubao.ReviewInput(
            on=body.date,
            assessment=body.assessment.model_dump(),
            outcome=body.outcome,
            reason=body.reason,
            notes=body.notes,
        ),
        user.id,
    )
    out = review_json(review)
    db.session.commit()
    return out


class TerminateIn(Body):
    date: dt.date
    reason: Literal["work_ability", "imprisoned", "income_assets", "supporter_able", "voluntary"]
    notes: str = Field("", max_length=200)


@endpoint(
    bp,
    "/people/<int:person_id>/wubao/terminate",
    ["POST"],
    roles=WRITERS,
    body=TerminateIn,
    status=201,
    summary="End 特困 support (认定办法 art. 24); payment stops from the next month",
)
def terminate(person_id: int, body: TerminateIn):
    person = scoping.get_person(api_user(), person_id)
    t = wubao.terminate(person, body.reason, body.date, notes=body.notes)
    out = termination_json(t)
    db.session.commit()
    return out


class TerminationQuery(PageQuery):
    township_code: str | None = Field(None, max_length=12)
    since: dt.date | None = None
    until: dt.date | None = None


@endpoint(
    bp,
    "/terminations",
    roles=READERS,
    query=TerminationQuery,
    summary="Terminations of 特困 support (no ID numbers), newest first",
)
def terminations(query: TerminationQuery):
    stmt = sa.select(Termination).order_by(Termination.decided_on.desc(), Termination.id.desc())
    if query.township_code:
        stmt = stmt.where(Termination.township_code == query.township_code)
    if query.since:
        stmt = stmt.where(Termination.decided_on >= query.since)
    if query.until:
        stmt = stmt.where(Termination.decided_on <= query.until)
    return paginate(stmt, query, termination_json)


class FiguresQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    since: dt.date | None = Field(None, ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))
    until: dt.date | None = Field(None, ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))


@endpoint(
    bp,
    "/dynamic/figures",
    roles=READERS,
    query=FiguresQuery,
    summary="Timeliness: days from a death to its record here; what the lists saved",
)
def timeliness(query: FiguresQuery):
    until = query.until or local_today()
    since = query.since or until - dt.timedelta(days=365)
    return figures.timeliness(since, until)
