"""QR cards: a signed token in a URL `<ELDERCARE_BASE_URL>/v/<token>`, and a short card
number to type in when a camera fails.

The token holds only the enrolment id and the card serial (no personal data); a reissue
bumps the serial, so an old card fails verification. The short number carries the same
two numbers and a 4-digit keyed check, so a guessed number is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re

import qrcode
import qrcode.image.svg
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from eldercare.errors import DomainError
from eldercare.extensions import db

from .models import Enrolment

SALT = "homecare-card-v1"
SHORT = re.compile(r"^\s*(\d{1,9})\s*-\s*(\d{1,4})\s*-\s*(\d{4})\s*$")


class InvalidCard(DomainError):
    """A forged, tampered, revoked or unknown card (422 invalid_card)."""

    status = 422
    code = "invalid_card"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token(enrolment: Enrolment) -> str:
    return _serializer().dumps([enrolment.id, enrolment.card_serial])


def url(enrolment: Enrolment) -> str:
    return f"{current_app.config['BASE_URL']}/v/{token(enrolment)}"


def _check(enrolment_id: int, serial: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{SALT}:{enrolment_id}:{serial}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 10000:04d}"


def short_number(enrolment: Enrolment) -> str:
    """The number printed under the QR code, e.g. `1234-1-0587`."""
    return f"{enrolment.id}-{enrolment.card_serial}-{_check(enrolment.id, enrolment.card_serial)}"


def _parse(text: str) -> tuple[int, int]:
    text = (text or "").strip()
    m = SHORT.match(text)
    if m:
        ident, serial, check = int(m[1]), int(m[2]), m[3]
        if not hmac.compare_digest(check, _check(ident, serial)):
            raise InvalidCard("卡号无效")
        return ident, serial
    raw = text.rsplit("/v/", 1)[-1].split("?", 1)[0].strip("/")
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        raise InvalidCard("二维码无效：不是本系统签发的服务卡") from None
    if (not isinstance(data, list) or len(data) != 2
            or not all(isinstance(v, int) for v in data)):
        raise InvalidCard("二维码无效")
    return data[0], data[1]


def resolve(text: str) -> Enrolment:
    """The enrolment of a card's decoded text (URL or bare token) or short number.
    Raises InvalidCard for a forged or tampered text and for a reissued (revoked) card."""
    ident, serial = _parse(text)
    enrolment = db.session.get(Enrolment, ident)
    if enrolment is None or enrolment.card_serial != serial:
        raise InvalidCard("此卡已作废或不存在，请使用新卡")
    return enrolment


def reissue(enrolment: Enrolment) -> Enrolment:
    """A new card: the serial goes up by one and the old card stops working."""
    enrolment.card_serial = enrolment.card_serial + 1
    db.session.flush()
    return enrolment


def png(text: str, box_size: int = 8) -> bytes:
    img = qrcode.make(text, box_size=box_size, border=4,
                      error_correction=qrcode.constants.ERROR_CORRECT_M)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def svg(text: str) -> bytes:
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                      border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()
