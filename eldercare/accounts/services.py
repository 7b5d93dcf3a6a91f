"""Accounts (API.md "Accounts"): list, create with a one-time password, disable, reset the
password or the second factor.

One rule for who manages whom: the bureau (admin) manages every account; a provider's
admin manages its own workers and nobody else; every other role manages nothing. The
/users page, the accounts API and the provider's workers page and API all come here.

A password that someone else sets is generated here and is one-time: the account must
change it at its next login (the login side refuses it with `password_change_required`),
so whoever handed it out cannot keep using it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..auth.services import check_password_policy, create_user, end_sessions
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import Role, User

# No 0/O, 1/l/I: a one-time password is read aloud or copied from a screen by hand.
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_DIGITS = "23456789"


def one_time_password() -> str:
    """Four groups of four (about 90 bits), with upper and lower case, a digit and the
    hyphens: MLPS's three classes (check_password_policy) hold for every draw."""
    alphabet = _UPPER + _LOWER + _DIGITS
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
        text = "-".join(groups)
        if (
            any(c in _UPPER for c in text)
            and any(c in _LOWER for c in text)
            and any(c in _DIGITS for c in text)
        ):
            check_password_policy(text)
            return text


# --- who sees and manages whom ---------------------------------------------------------


def account_scope(actor: User) -> sa.ColumnElement[bool]:
    """The accounts `actor` may see and manage: deny by default."""
    if actor.role == Role.ADMIN:
        return sa.true()
    if actor.role == Role.PROVIDER and actor.provider_id is not None:
        return sa.and_(User.role == Role.WORKER, User.provider_id == actor.provider_id)
    return sa.false()


def accounts(
    actor: User,
    *,
    role: Role | None = None,
    active: bool | None = None,
    provider_id: int | None = None,
    facility_id: int | None = None,
    q: str | None = None,
) -> sa.Select:
    """The accounts `actor` may see, filtered, by username."""
    stmt = sa.select(User).where(account_scope(actor)).order_by(User.username, User.id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if provider_id is not None:
        stmt = stmt.where(User.provider_id == provider_id)
    if facility_id is not None:
        stmt = stmt.where(User.facility_id == facility_id)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            sa.or_(
                User.username.ilike(like, escape="\\"), User.display_name.ilike(like, escape="\\")
            )
        )
    return stmt


def get_account(actor: User, user_id: int) -> User:
    """The account if `actor` may manage it. Raises NotFound otherwise: a provider learns
    nothing of accounts outside its own workers, not even that they exist."""
    user = db.session.scalar(sa.select(User).where(account_scope(actor), User.id == user_id))
    if user is None:
        raise NotFound(_l("未找到该账号"))
    return user


def scope_names(table: str) -> dict[int, str]:
    """Names of the facilities or providers accounts belong to, for lists and forms (by
    table name: the core never imports a feature; none where the feature is not loaded)."""
    t = db.metadata.tables.get(table)
    if t is None:
        return {}
    return dict(db.session.execute(sa.select(t.c.id, t.c.name).order_by(t.c.name)).all())


# --- creating --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    user: User
    one_time_password: str


def _may_create(actor: User, role: Role, provider_id: int | None) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.PROVIDER and role == Role.WORKER and provider_id == actor.provider_id:
        return
    raise Forbidden(_l("当前角色无权创建该账号"))


def _check_exists(table: str, row_id: int | None, field: str) -> None:
    """The facility or provider named exists. The core knows the features' tables only by
    name (it never imports them); where a feature is not loaded the database's foreign
    key is the check."""
    t = db.metadata.tables.get(table)
    if row_id is None or t is None:
        return
    if db.session.scalar(sa.select(t.c.id).where(t.c.id == row_id)) is None:
        raise Invalid(_l("所选机构或组织不存在"), fields={field: _l("不存在")})


def create_account(
    actor: User,
    username: str,
    role: Role | str,
    *,
    display_name: str = "",
    facility_id: int | None = None,
    provider_id: int | None = None,
    township_code: str | None = None,
) -> NewAccount:
    """Create an account with a generated one-time password (`must_change_password`).

    The bureau creates any account; a provider's admin only workers of its own provider.
    Raises Forbidden for anyone else, Invalid for a missing or unknown facility/provider,
    Conflict for a taken username. Flushes, never commits; the insert is audited
    (never the password or its hash)."""
    role = Role(role)
    _may_create(actor, role, provider_id)
    if role == Role.MANAGER:
        _check_exists("facilities", facility_id, "facility_id")
    if role in (Role.PROVIDER, Role.WORKER):
        _check_exists("providers", provider_id, "provider_id")
    password = one_time_password()
    user = create_user(
        username,
        password,
        role,
        facility_id=facility_id,
        provider_id=provider_id,
        township_code=township_code,
        display_name=display_name,
    )
    user.must_change_password = True
    db.session.flush()
    return NewAccount(user, password)


# --- changing --------------------------------------------------------------------------


def _keep_an_admin(target: User) -> None:
    """Refuse to disable the last active admin: nobody could then manage accounts.

    Locks every active admin row (in id order, so two of these never deadlock) before
    counting: of two admins disabling each other at once, the second waits for the first
    and then counts one. SQLite takes the write lock at BEGIN IMMEDIATE instead."""
    active_admins = db.session.scalars(
        sa.select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not [uid for uid in active_admins if uid != target.id]:
        raise Conflict(_l("不能停用最后一个启用的民政局账号"), code="last_admin")


def set_active(actor: User, target: User, active: bool) -> User:
    """Enable or disable `target` (which get_account gave `actor`).

    Disabling ends every session and token of the account at once (the session version
    moves on). Nobody disables their own account, and the last active admin stays.
    Raises Conflict (`own_account`, `last_admin`). Flushes, never commits; the change of
    `active` is audited by the ORM, the ended sessions by an `account_sessions_ended` entry."""
    if target.active == active:
        return target
    if not active:
        if target.id == actor.id:
            raise Conflict(_l("不能停用自己的账号"), code="own_account")
        if target.role == Role.ADMIN:
            _keep_an_admin(target)
    target.active = active
    db.session.flush()
    if not active:
        _end_sessions(target, "disabled")
    return target


def rename(target: User, display_name: str) -> User:
    """Change the name shown for `target`. Flushes; audited by the ORM."""
    target.display_name = display_name.strip() or target.username
    db.session.flush()
    return target


def reset_password(actor: User, target: User) -> str:
    """Give `target` a new one-time password and end its sessions and tokens (whoever held
    the old password is out). Returns the password, to be shown once. Flushes, never
    commits; audited as `password_reset` (never the password or its hash)."""
    if target.id == actor.id:
        # One's own password is changed with the old one (POST /api/v1/auth/password):
        # a reset here would let a stolen session take the account over.
        raise Conflict(_l("请用修改密码功能修改自己的密码"), code="own_account")
    password = one_time_password()
    set_password(target, password, one_time=True)
    audit.record("password_reset", "users", target.id, {"one_time": True})
    _end_sessions(target, "password_reset")
    return password


def reset_second_factor(actor: User, target: User) -> User:
    """Forget `target`'s authenticator: it enrols again at its next page login. Only the
    bureau does this (a lost phone), and its sessions end. Raises Forbidden for anyone
    else. Flushes, never commits; audited as `otp_reset`."""
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("只有民政局可以重置动态验证码"))
    reset_otp(target)
    audit.record("otp_reset", "users", target.id)
    _end_sessions(target, "otp_reset")
    return target


def _end_sessions(target: User, reason: str) -> None:
    # end_sessions moves the version with a Core update, which the ORM's audit does not
    # see: say so in the log.
    end_sessions(target)
    audit.record("account_sessions_ended", "users", target.id, {"reason": reason})


# --- until helper "auth"'s versions land in eldercare/auth/services.py -----------------


def set_password(user: User, new: str, *, one_time: bool) -> None:
    """Set `user`'s password; `one_time` makes the next login change it. Raises Invalid
    for a weak one. Flushes, never commits."""
    from ..auth.services import hash_password

    check_password_policy(new)
    user.password_hash = hash_password(new)
    user.must_change_password = one_time
    db.session.flush()


def reset_otp(user: User) -> None:
    """Forget the second factor: enrolment again at the next page login. Flushes."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.flush()
