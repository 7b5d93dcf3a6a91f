"""Authentication rules. Counters live in the database, so that every worker process
and host sees the same lockout (ENGINEERING.md)."""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit, throttle
from ..database import utcnow
from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import Region, Role, User


class LoginFailed(Exception):
    """Wrong username or password (or second-factor code): the same message for each."""


class AccountLocked(Exception):
    """Too many failures for the account (or, with `address`, from one address)."""

    def __init__(self, until: datetime, *, address: bool = False):
        super().__init__("locked")
        self.until = until
        self.address = address

    @property
    def retry_after(self) -> int:
        return max(1, int((self.until - utcnow()).total_seconds()) + 1)


class OtpEnrolmentRequired(Exception):
    """The account needs a second factor and has not enrolled one (it enrols on the page)."""


class OtpRequired(Exception):
    """The password is right; the account's second-factor code is missing."""


class OtpInvalid(Exception):
    """A wrong, expired or already used second-factor code (counted as a failure)."""


class PasswordChangeRequired(Exception):
    """Both factors are right, but the password was set by someone else: change it first."""


def check_password_policy(password: str) -> None:
    """MLPS 2.0 level 3 asks for complexity: at least 8 characters of three classes.

    Raises Invalid with `fields.password`."""
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if len(password) < 8 or classes < 3:
        rule = "密码至少 8 位，且包含大写字母、小写字母、数字、符号中的三类"
        raise Invalid(rule, fields={"password": rule})


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


@functools.cache
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def dummy_hash() -> str:
    """A hash to check against when the user does not exist, made with the configured
    method and parameters: an unknown name then costs what a wrong password costs (a
    cheaper method would tell a sprayer which names exist)."""
    return _dummy_hash_for(_hash_method())


def _check_township(code: str | None) -> None:
    """A township clerk belongs to one township or street of the district (its code)."""
    if not code:
        raise Invalid("乡镇（街道）账号需指定乡镇（街道）", fields={"township_code": "必填"})
    if (
        db.session.scalar(
            sa.select(Region.code).where(Region.code == code, Region.level == "township")
        )
        is None
    ):
        raise Invalid(f"未知的乡镇（街道）代码：{code}", fields={"township_code": "未知代码"})


def create_user(
    username: str,
    password: str,
    role: Role | str,
    *,
    facility_id: int | None = None,
    provider_id: int | None = None,
    township_code: str | None = None,
    display_name: str = "",
    one_time: bool = False,
) -> User:
    """Create an account. `one_time`: the password was chosen by someone else (an admin,
    a provider for its worker), so the first login must change it.

    Raises Invalid for a weak password or a missing scope, Conflict for a taken
    username. Flushes, never commits."""
    role = Role(role)
    check_password_policy(password)
    if role == Role.MANAGER and facility_id is None:
        raise Invalid(_l("管理员账号需指定机构"), fields={"facility_id": _l("必填")})
    if role in (Role.PROVIDER, Role.WORKER) and provider_id is None:
        raise Invalid(_l("服务组织账号需指定组织"), fields={"provider_id": _l("必填")})
    if role == Role.TOWNSHIP:
        _check_township(township_code)
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict(
            _l("用户名 %(username)s 已存在", username=username), fields={"username": _l("已存在")}
        )
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        facility_id=facility_id if role == Role.MANAGER else None,
        provider_id=provider_id if role in (Role.PROVIDER, Role.WORKER) else None,
        township_code=township_code if role == Role.TOWNSHIP else None,
        must_change_password=one_time,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, new: str, *, one_time: bool) -> None:
    """Give the account a new password and end every session and token it has.

    `one_time=True` when someone else chose it (an admin's or a provider's reset): the
    next login must change it. A password one chooses oneself must differ from the one it
    replaces. Raises Invalid (`fields.password`) for a weak or unchanged password.
    Flushes, never commits; the audit log says who set it."""
    check_password_policy(new)
    if not one_time and check_password_hash(user.password_hash, new):
        msg = "新密码不能与原密码相同"
        raise Invalid(msg, fields={"password": msg})
    user.password_hash = hash_password(new)
    user.must_change_password = one_time
    db.session.flush()
    end_sessions(user)
    audit.record("password_set" if one_time else "password_changed", "users", user.id)


def reset_otp(user: User) -> None:
    """Forget the account's second factor: it enrols again at its next page login (until
    then the token path answers `otp_enrolment_required`). Ends every session and token.
    Flushes, never commits; audited."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.flush()
    end_sessions(user)
    audit.record("totp_reset", "users", user.id)


# --- logging in ----------------------------------------------------------------------


def _address_key(address: str) -> str:
    return f"login-ip:{address}"


def _check_address(address: str | None) -> None:
    until = throttle.locked_until(_address_key(address)) if address else None
    if until is not None:
        audit.record("login_throttled", "users", None, {"address": address})
        raise AccountLocked(until, address=True)


def count_failure(
    user: User | None, address: str | None, action: str = "login_failed", changes=None
) -> None:
    """One failed attempt (a wrong password or a wrong code): counted for the account and
    for the address, each with a relative update so that concurrent attempts on several
    workers all count. The account's fifth failure locks it for LOGIN_LOCK.

    Raises AccountLocked when this failure locked the account or the address, otherwise
    returns (the caller raises LoginFailed or OtpInvalid). Never commits.

    Lock order: the account's row, then the address's. A request that lost the one-time
    code's race already holds the account's row (PostgreSQL locks the row an UPDATE
    waited for before it finds the row no longer matches), so taking the address first
    here deadlocked against it (one of four logins with one code answered 503)."""
    cfg = current_app.config
    now = utcnow()
    account_until = None
    if user is None:
        audit.record(action, "users", None, changes or {})
    else:
        db.session.execute(
            sa.update(User)
            .where(User.id == user.id)
            .values(
                failed_logins=User.failed_logins + 1,
                locked_until=sa.case(
                    (User.failed_logins + 1 >= cfg["LOGIN_MAX_FAILURES"], now + cfg["LOGIN_LOCK"]),
                    else_=None,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        audit.record(action, "users", user.id)
        db.session.expire(user)
        if user.locked_until and user.locked_until > now:
            account_until = user.locked_until
    address_until = None
    if address:
        address_until = throttle.fail(
            _address_key(address),
            limit=cfg["LOGIN_ADDRESS_MAX_FAILURES"],
            window=cfg["LOGIN_ADDRESS_WINDOW"],
            lock=cfg["LOGIN_ADDRESS_LOCK"],
        )
    if account_until is not None:
        raise AccountLocked(account_until)
    if address_until is not None:
        raise AccountLocked(address_until, address=True)


def check_locked(user: User) -> None:
    """Raises AccountLocked while the account is locked (checked at every step, so a
    lock that a wrong code set also stops the code that follows)."""
    db.session.refresh(user, ["locked_until"])
    if user.locked_until and user.locked_until > utcnow():
        audit.record("login_locked", "users", user.id)
        raise AccountLocked(user.locked_until)


def check_password(username: str, password: str, *, address: str | None = None) -> User:
    """The first factor. Raises AccountLocked while the address or the account is locked
    (even with the right password), LoginFailed for a wrong name or password (counted).
    A success resets nothing: the second factor, where one applies, still has to pass
    (login_succeeded resets the counter). Audited. Never commits."""
    _check_address(address)
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        check_password_hash(dummy_hash(), password)
        count_failure(None, address, changes={"username": username[:64]})
        raise LoginFailed()
    # The hash is checked before anything else, so a disabled account costs the same time.
    right = check_password_hash(user.password_hash, password)
    check_locked(user)
    if not right or not user.active:
        count_failure(user, address)
        raise LoginFailed()
    return user


def login_succeeded(user: User, action: str = "login") -> None:
    """Every factor passed: forget the account's failures and note the time. Audited.
    The address's counter is kept: a sprayer with one account of its own must not wipe
    it with a good login between guesses."""
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, locked_until=None, last_login_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user)
    audit.record(action, "users", user.id)


def authenticate(
    username: str, password: str, otp: str | None = None, *, address: str | None = None
) -> User:
    """A whole login without a page (the token API): the password, then the second
    factor where the account has or needs one, then the one-time password rule.

    Raises AccountLocked, LoginFailed, OtpEnrolmentRequired, OtpRequired, OtpInvalid
    (counted as a failure), PasswordChangeRequired (both factors were right). Records
    each event in the audit log. Flushes, never commits."""
    from . import totp

    user = check_password(username, password, address=address)
    if totp.required_for(user) or totp.enrolled(user):
        if not totp.enrolled(user):
            audit.record("login_otp_enrolment_required", "users", user.id)
            raise OtpEnrolmentRequired()
        if not otp:
            raise OtpRequired()
        totp.verify(user, otp, address=address)
    if user.must_change_password:
        login_succeeded(user, "login_password_change_required")
        raise PasswordChangeRequired()
    login_succeeded(user)
    return user


def end_sessions(user: User) -> None:
    """Log the user out everywhere: every session and token carries the old version."""
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user)


# --- API tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="eldercare.api-token")


def issue_token(user: User) -> IssuedToken:
    """A signed bearer token naming the user and session version; logout or disabling
    the account invalidates it without any table of tokens."""
    life: timedelta = current_app.config["TOKEN_LIFETIME"]
    token = _serializer().dumps({"u": user.id, "v": user.session_version})
    return IssuedToken(token, utcnow() + life)


def user_for_token(token: str) -> User | None:
    life: timedelta = current_app.config["TOKEN_LIFETIME"]
    try:
        data = _serializer().loads(token, max_age=int(life.total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or not user.active or user.session_version != data.get("v"):
        return None
    return user
