"""Authentication rules. Counters live in the database, so that every worker process
and host sees the same lockout (ENGINEERING.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..database import utcnow
from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import Role, User

# A fixed hash to check against when the user does not exist, so that a wrong user
# and a wrong password take the same time.
_DUMMY_HASH = generate_password_hash("not-a-password", method="pbkdf2:sha256:1000")


class LoginFailed(Exception):
    """Wrong username or password: the same message for both."""


class AccountLocked(Exception):
    def __init__(self, until: datetime):
        super().__init__("locked")
        self.until = until

    @property
    def retry_after(self) -> int:
        return max(1, int((self.until - utcnow()).total_seconds()) + 1)


def check_password_policy(password: str) -> None:
    """MLPS 2.0 level 3 asks for complexity: at least 8 characters of three classes.

    Raises Invalid with `fields.password`."""
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if len(password) < 8 or classes < 3:
        rule = "密码至少 8 位，且包含大写字母、小写字母、数字、符号中的三类"
        raise Invalid(rule, fields={"password": rule})


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def create_user(
    username: str,
    password: str,
    role: Role | str,
    *,
    facility_id: int | None = None,
    provider_id: int | None = None,
    display_name: str = "",
) -> User:
    """Create an account. Raises Invalid for a weak password or a missing scope, Conflict
    for a taken username. Flushes, never commits."""
    role = Role(role)
    check_password_policy(password)
    if role == Role.MANAGER and facility_id is None:
        raise Invalid("管理员账号需指定机构", fields={"facility_id": "必填"})
    if role in (Role.PROVIDER, Role.WORKER) and provider_id is None:
        raise Invalid("服务组织账号需指定组织", fields={"provider_id": "必填"})
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict(f"用户名 {username} 已存在", fields={"username": "已存在"})
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        facility_id=facility_id if role == Role.MANAGER else None,
        provider_id=provider_id if role in (Role.PROVIDER, Role.WORKER) else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User:
    """Check a username and password.

    Raises AccountLocked while the account is locked (even with the right password),
    LoginFailed otherwise. Failures are counted with a relative update, so concurrent
    attempts on several workers all count; the fifth locks the account for 15 minutes.
    Records the event in the audit log. Flushes, never commits."""
    cfg = current_app.config
    user = db.session.scalar(sa.select(User).where(User.username == username))
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        audit.record("login_failed", "users", None, {"username": username[:64]})
        raise LoginFailed()
    if user.locked_until and user.locked_until > now:
        audit.record("login_locked", "users", user.id)
        raise AccountLocked(user.locked_until)
    if not user.active or not check_password_hash(user.password_hash, password):
        lock_until = now + cfg["LOGIN_LOCK"]
        db.session.execute(
            sa.update(User)
            .where(User.id == user.id)
            .values(
                failed_logins=User.failed_logins + 1,
                locked_until=sa.case(
                    (User.failed_logins + 1 >= cfg["LOGIN_MAX_FAILURES"], lock_until),
                    else_=None,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        audit.record("login_failed", "users", user.id)
        db.session.expire(user)
        if user.locked_until:
            raise AccountLocked(user.locked_until)
        raise LoginFailed()
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, locked_until=None, last_login_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user)
    audit.record("login", "users", user.id)
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
    return URLSafeTimedSerializer(current_app.secret_key, salt="eldercare.api-token")


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
