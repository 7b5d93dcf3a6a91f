"""Accounts API (API.md "Accounts"). Thin: parse, call a service, commit once, answer."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from pydantic import BaseModel, Field, StrictBool

from ..apikit import Body, PageQuery, endpoint, paginate
from ..auth import totp
from ..auth.web import api_user
from ..extensions import db
from ..models import Role, User
from . import services

bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")

MANAGERS = (Role.ADMIN, Role.PROVIDER)
ROW_ID = Field(None, ge=1, le=2**31 - 1)
USERNAME = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class AccountOut(BaseModel):
    id: int
    username: str
    role: Role
    display_name: str
    facility_id: int | None
    provider_id: int | None
    township_code: str | None = None
    active: bool
    otp_enrolled: bool
    last_login_at: datetime | None


class NewAccountOut(AccountOut):
    one_time_password: str


class AccountPage(BaseModel):
    items: list[AccountOut]
    total: int
    page: int
    per_page: int


class OneTimePasswordOut(BaseModel):
    one_time_password: str


def account_json(u: User) -> dict:
    return {
        "id": u.id,
        "username": u.username,
        "role": u.role.value,
        "display_name": u.display_name,
        "facility_id": u.facility_id,
        "provider_id": u.provider_id,
        "township_code": u.township_code,
        "active": u.active,
        "otp_enrolled": totp.enrolled(u),
        "last_login_at": u.last_login_at,
    }


class AccountsQuery(PageQuery):
    role: Role | None = None
    active: bool | None = None
    provider_id: int | None = ROW_ID
    facility_id: int | None = ROW_ID
    q: str | None = Field(None, max_length=64, description="part of a username or name")


@endpoint(
    bp,
    "/users",
    roles=MANAGERS,
    query=AccountsQuery,
    response=AccountPage,
    summary="Accounts: the bureau sees every one, a provider its own workers",
)
def list_accounts(query: AccountsQuery):
    stmt = services.accounts(
        api_user(),
        role=query.role,
        active=query.active,
        provider_id=query.provider_id,
        facility_id=query.facility_id,
        q=query.q,
    )
    return paginate(stmt, query, account_json)


class AccountIn(Body):
    username: str = USERNAME
    role: Role
    display_name: str = Field("", max_length=64)
    facility_id: int | None = ROW_ID
    provider_id: int | None = ROW_ID
    township_code: str | None = Field(None, max_length=12)


@endpoint(
    bp,
    "/users",
    ["POST"],
    roles=(Role.ADMIN,),
    body=AccountIn,
    response=NewAccountOut,
    status=201,
    summary="Create an account; its password is one-time, shown only here",
)
def create_account(body: AccountIn):
    new = services.create_account(
        api_user(),
        body.username,
        body.role,
        display_name=body.display_name,
        facility_id=body.facility_id,
        provider_id=body.provider_id,
        township_code=body.township_code,
    )
    out = account_json(new.user) | {"one_time_password": new.one_time_password}
    db.session.commit()
    return out


class AccountPatch(Body):
    active: StrictBool | None = None
    display_name: str | None = Field(None, max_length=64)


@endpoint(
    bp,
    "/users/<int:user_id>",
    ["PATCH"],
    roles=MANAGERS,
    body=AccountPatch,
    response=AccountOut,
    summary="Disable (every session and token ends at once), enable or rename",
)
def update_account(user_id: int, body: AccountPatch):
    actor = api_user()
    user = services.get_account(actor, user_id)
    if body.display_name is not None:
        services.rename(user, body.display_name)
    if body.active is not None:
        services.set_active(actor, user, body.active)
    db.session.commit()
    return account_json(user)


@endpoint(
    bp,
    "/users/<int:user_id>/reset-password",
    ["POST"],
    roles=MANAGERS,
    response=OneTimePasswordOut,
    summary="A new one-time password; the account's sessions and tokens end",
)
def reset_password(user_id: int):
    actor = api_user()
    password = services.reset_password(actor, services.get_account(actor, user_id))
    db.session.commit()
    return {"one_time_password": password}


@endpoint(
    bp,
    "/users/<int:user_id>/reset-otp",
    ["POST"],
    roles=(Role.ADMIN,),
    response=AccountOut,
    summary="Forget the account's authenticator: it enrols again at its next page login",
)
def reset_otp(user_id: int):
    actor = api_user()
    user = services.reset_second_factor(actor, services.get_account(actor, user_id))
    db.session.commit()
    return account_json(user)
