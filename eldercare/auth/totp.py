"""The second factor (MLPS 2.0 level 3): TOTP (RFC 6238) for admin and manager accounts.

They enrol at their first page login (a QR code for any authenticator app, and the
secret as text for typing in); once enrolled, the page login and POST /api/v1/auth/token
also take the six-digit code. ELDERCARE_TOTP=off turns the requirement off (tests,
a demo on a laptop); it is on by default.
"""

from __future__ import annotations

import base64
import io

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..database import utcnow
from ..extensions import db
from ..models import User

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


def check(secret: str, code: str | None) -> bool:
    code = (code or "").strip().replace(" ", "")
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


def confirm_enrolment(user: User, secret: str, code: str) -> bool:
    """Store the secret once the user proved their app has it. Flushes, never commits."""
    if not check(secret, code):
        return False
    user.totp_secret = secret
    user.totp_confirmed_at = utcnow()
    db.session.flush()
    audit.record("totp_enrolled", "users", user.id)
    return True


def verify(user: User, code: str | None) -> bool:
    """Check the code of an enrolled user; a wrong code counts as a failed login."""
    if check(user.totp_secret or "", code):
        return True
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    audit.record("totp_failed", "users", user.id)
    return False
