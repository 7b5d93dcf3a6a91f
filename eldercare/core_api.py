"""Core API: tokens, the overview, the audit log, the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field

from . import openapi, stats
from .api_errors import ApiError
from .apikit import ALL_ROLES, READERS, Body, PageQuery, endpoint, paginate
from .auth import totp
from .auth.services import (
    AccountLocked,
    LoginFailed,
    OtpEnrolmentRequired,
    OtpInvalid,
    OtpRequired,
    PasswordChangeRequired,
    authenticate,
    check_password,
    issue_token,
    login_succeeded,
    set_password,
)
from .auth.web import client_address, set_user_actor
from .errors import Invalid
from .extensions import db
from .models import AuditEntry, Region
from .timeutil import local_today

bp = Blueprint("core_api", __name__, url_prefix="/api/v1")


class TokenIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    otp: str | None = Field(
        None, max_length=8, description="six-digit code: admin, manager and auditor accounts"
    )


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


class PasswordIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)
    otp: str | None = Field(
        None, max_length=8, description="six-digit code, where the account has enrolled one"
    )


def _login_error(exc: Exception) -> ApiError:
    """The contract's answer to each way a login can fail."""
    if isinstance(exc, AccountLocked):
        if exc.address:
            code, msg = "too_many_attempts", "此地址登录失败次数过多，请稍后再试"
        else:
            code, msg = "account_locked", "登录失败次数过多，账号暂时锁定"
        return ApiError(429, code, msg, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, OtpEnrolmentRequired):
        return ApiError(
            401, "otp_enrolment_required", "该账号尚未绑定动态验证码：请先在登录页面绑定"
        )
    if isinstance(exc, OtpRequired):
        return ApiError(401, "otp_required", "该账号需要动态验证码 (otp)", {"otp": "必填"})
    if isinstance(exc, OtpInvalid):
        return ApiError(401, "invalid_otp", "动态验证码不正确或已使用", {"otp": "不正确"})
    if isinstance(exc, PasswordChangeRequired):
        return ApiError(
            403,
            "password_change_required",
            "此密码由他人设置，只能用于修改密码：请通过 POST /api/v1/auth/password 设置新密码",
        )
    return ApiError(401, "invalid_credentials", "用户名或密码错误")


LOGIN_ERRORS = (
    AccountLocked,
    LoginFailed,
    OtpEnrolmentRequired,
    OtpRequired,
    OtpInvalid,
    PasswordChangeRequired,
)


@endpoint(
    bp,
    "/auth/token",
    ["POST"],
    public=True,
    body=TokenIn,
    response=TokenOut,
    summary="Exchange a username and password (and the second factor's code) for a token",
)
def token(body: TokenIn):
    try:
        user = authenticate(body.username, body.password, body.otp, address=client_address())
    except LOGIN_ERRORS as exc:
        db.session.commit()  # the failure counts, and the log keeps it
        raise _login_error(exc) from None
    issued = issue_token(user)
    db.session.commit()
    return {"token": issued.token, "expires_at": issued.expires_at}


@endpoint(
    bp,
    "/auth/password",
    ["POST"],
    public=True,
    body=PasswordIn,
    status=204,
    summary="Change one's own password (the current one proves who asks; no token needed)",
)
def change_password(body: PasswordIn):
    """The same steps as a login (lockout, second factor where enrolled), then the new
    password, which is final; every session and token of the account ends."""
    try:
        user = check_password(body.username, body.password, address=client_address())
        if totp.enrolled(user):
            if not body.otp:
                raise OtpRequired()
            totp.verify(user, body.otp, address=client_address())
    except LOGIN_ERRORS as exc:
        db.session.commit()
        raise _login_error(exc) from None
    set_user_actor(user)
    try:
        set_password(user, body.new_password, one_time=False)
    except Invalid as exc:
        db.session.rollback()
        msg = exc.message
        raise ApiError(422, "validation_failed", msg, {"new_password": msg}) from None
    login_succeeded(user, "password_changed_login")
    db.session.commit()
    return Response(status=204)


class OverviewQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    date: dt.date | None = None


class WubaoOut(BaseModel):
    total: int
    elderly: int
    disabled: int
    minor: int
    centralized: int
    dispersed: int
    centralized_rate: str


class OverviewOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    date: str
    wubao: WubaoOut


@endpoint(
    bp,
    "/stats/overview",
    roles=ALL_ROLES,
    query=OverviewQuery,
    response=OverviewOut,
    summary="District figures on a date (today by default), answered from history",
)
def overview(query: OverviewQuery):
    return stats.overview(query.date or local_today())


class TrendQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    date: dt.date | None = None
    months: int = Field(12, ge=1, le=60)


class WubaoPoint(BaseModel):
    date: str
    total: int
    centralized: int
    centralized_rate: str


class WubaoTrendOut(BaseModel):
    items: list[WubaoPoint]


@endpoint(
    bp,
    "/stats/wubao-trend",
    roles=ALL_ROLES,
    query=TrendQuery,
    response=WubaoTrendOut,
    summary="特困 persons and the centralised-support rate at each month's end up to a date",
)
def wubao_trend(query: TrendQuery):
    return {"items": stats.wubao_trend(query.date or local_today(), query.months)}


class AuditQuery(PageQuery):
    entity: str | None = Field(None, max_length=40)
    entity_id: str | None = Field(None, max_length=40)
    action: str | None = Field(None, max_length=40)


class AuditEntryOut(BaseModel):
    at: datetime
    user: str
    action: str
    entity: str
    entity_id: str | None
    changes: dict


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    page: int
    per_page: int


def audit_select(entity=None, entity_id=None, action=None) -> sa.Select:
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return stmt


def audit_json(e: AuditEntry) -> dict:
    return {
        "at": e.at,
        "user": e.username,
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "changes": e.changes,
    }


@endpoint(
    bp,
    "/audit",
    roles=READERS,
    query=AuditQuery,
    response=AuditPage,
    summary="The audit log, newest first",
)
def audit(query: AuditQuery):
    return paginate(audit_select(query.entity, query.entity_id, query.action), query, audit_json)


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3 document of this API (public: it holds no data)."""
    return jsonify(openapi.build(current_app))


class RegionsQuery(PageQuery):
    level: str | None = Field(None, pattern="^(district|township|village)$")
    parent_code: str | None = Field(None, max_length=12)
    date: dt.date | None = None


class RegionOut(BaseModel):
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    successor_code: str | None


class RegionList(BaseModel):
    items: list[RegionOut]
    total: int
    page: int
    per_page: int


@endpoint(
    bp,
    "/regions",
    roles=ALL_ROLES,
    query=RegionsQuery,
    response=RegionList,
    summary="Divisions valid on a date (today by default), with validity and successors, "
    "in the list shape",
)
def regions(query: RegionsQuery):
    day = query.date or local_today()
    stmt = (
        sa.select(Region)
        .where(
            sa.or_(Region.valid_from.is_(None), Region.valid_from <= day),
            sa.or_(Region.valid_to.is_(None), Region.valid_to >= day),
        )
        .order_by(Region.code)
    )
    if query.level:
        stmt = stmt.where(Region.level == query.level)
    if query.parent_code:
        stmt = stmt.where(Region.parent_code == query.parent_code)
    return paginate(
        stmt,
        query,
        lambda r: {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "kind": r.kind,
            "parent_code": r.parent_code,
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            "successor_code": r.successor_code,
        },
    )
