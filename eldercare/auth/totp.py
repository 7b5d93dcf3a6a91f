"""The second factor (MLPS 2.0 level 3): TOTP (RFC 6238) for admin, manager and auditor
accounts (config.TOTP_REQUIRED_ROLES).

They enrol at their first page login (a QR code for any authenticator app, and the
secret as text for typing in); once enrolled, the page login and POST /api/v1/auth/token
also take the six-digit code. ELDERCARE_TOTP=off turns the requirement off (tests,
a demo on a laptop); it is on by default. A code is good once: the step accepted last is
kept in users.totp_last_step and only a later one passes. Wrong codes count toward the
account's lockout together with wrong passwords.
"""

from __future__ import annotations

import base64
import hmac
import io
from datetime import UTC, datetime

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..database import rowcount, utcnow
from ..extensions import db
from ..models import User
from .services import OtpInvalid, check_locked, count_failure

ISSUER = "游仙区养老服务"


def required_for(user: User) -> bool:
    return user.role.value in current_app.config["TOTP_REQUIRED_ROLES"]


def enrolled(user: User) -> bool:
    return user.totp_confirmed_at is not None and bool(user.totp_secret)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_qr(user: User, secret: str) -> str:
    """An SVG data URI of the otpauth:// URI (the CSP allows data: images)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def matching_step(secret: str, code: str | None, at: datetime | None = None) -> int | None:
    """The RFC 6238 time step (30 s) whose code `code` is, within one step of now either
    way (a phone's clock drifts), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (secret and code.isdigit() and len(code) == 6):
        return None
    otp = pyotp.TOTP(secret)
    now = otp.timecode(at or datetime.now(UTC))
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def _accept_step(user: User, step: int) -> bool:
    """Take the step as used, once (RFC 6238 §5.2): a conditional update that only a
    later step passes, so two requests with one code cannot both win, on any number of
    processes. Returns whether this request won."""
    result = db.session.execute(
        sa.update(User)
        .where(
            User.id == user.id,
            sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user, ["totp_last_step"])
    return rowcount(result) == 1


def confirm_enrolment(user: User, secret: str, code: str, *, address: str | None = None) -> None:
    """Store the secret once the user proved their app has it; the code used for it is
    spent. Raises AccountLocked (before checking, or when this failure locked it) and
    OtpInvalid (a wrong code, counted as a failed login). Flushes, never commits."""
    check_locked(user)
    step = matching_step(secret, code)
    if step is None:
        count_failure(user, address, "totp_failed")
        raise OtpInvalid()
    # Conditional, so that two sessions enrolling at once cannot replace each other's
    # secret: the first to confirm keeps it, the other has to log in again.
    done = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, User.totp_confirmed_at.is_(None))
        .values(totp_secret=secret, totp_confirmed_at=utcnow(), totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user)
    if rowcount(done) != 1:
        raise OtpInvalid()
    audit.record("totp_enrolled", "users", user.id)


def verify(user: User, code: str | None, *, address: str | None = None) -> None:
    """Check the code of an enrolled user and spend it. A wrong code, or one already
    used, counts as a failed login together with wrong passwords.

    Raises AccountLocked (already locked, or locked by this failure) and OtpInvalid.
    Flushes, never commits."""
    check_locked(user)
    step = matching_step(user.totp_secret or "", code)
    if step is None or not _accept_step(user, step):
        count_failure(user, address, "totp_failed" if step is None else "totp_reused")
        raise OtpInvalid()
