"""QR cards: a signed token in a URL `<ELDERCARE_BASE_URL>/v/<token>`, and a short card
number to type in when a camera fails.

The token holds only the enrolment id and the card serial (no personal data); a reissue
bumps the serial, so an old card fails verification, with a message that says it was
replaced. The short number carries the same two numbers and a 4-digit keyed check, so a
guessed number is refused as well; and since 10,000 tries would find the check, a typed
number is looked up through `lookup`, which locks an account's lookups for 15 minutes
after 10 wrong ones in 10 minutes (API.md "Proof of presence") and audits each wrong one.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from eldercare import audit, throttle
from eldercare.errors import Conflict, DomainError
from eldercare.extensions import db
from eldercare.models import User
from eldercare.models.throttle import Throttle
from eldercare.timeutil import to_local

from . import lean
from .models import Enrolment

SALT = "homecare-card-v1"
SHORT = re.compile(r"^\s*(\d{1,9})\s*-\s*(\d{1,4})\s*-\s*(\d{4})\s*$")
LOOKUP_LIMIT = 10  # wrong card numbers of one account within LOOKUP_WINDOW ...
LOOKUP_WINDOW = timedelta(minutes=10)
LOOKUP_LOCK = timedelta(minutes=15)  # ... lock its lookups this long


class InvalidCard(DomainError):
    """A forged, tampered, revoked or unknown card (422 invalid_card)."""

    status = 422
    code = "invalid_card"


class CardReplaced(InvalidCard):
    """A card that was genuine until a new one was issued (still 422 invalid_card: the
    contract's code for a revoked card), told apart so that the worker asks for the new
    card instead of doubting the scan."""


class LookupLocked(DomainError):
    """Too many wrong card numbers from this account: lookups refused until `until`."""

    status = 429
    code = "too_many_lookups"

    def __init__(self, until: datetime):
        super().__init__(f"卡号输错次数过多，{to_local(until):%H:%M} 前暂停按卡号查询")
        self.until = until


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
            raise InvalidCard(_l("卡号无效"))
        return ident, serial
    raw = text.rsplit("/v/", 1)[-1].split("?", 1)[0].strip("/")
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        raise InvalidCard(_l("二维码无效：不是本系统签发的服务卡")) from None
    if not isinstance(data, list) or len(data) != 2 or not all(isinstance(v, int) for v in data):
        raise InvalidCard(_l("二维码无效"))
    return data[0], data[1]


def resolve(text: str) -> Enrolment:
    """The enrolment of a card's decoded text (URL or bare token) or short number.
    Raises InvalidCard for a forged or tampered text and for a reissued (revoked) card."""
    ident, serial = _parse(text)
    enrolment = db.session.get(Enrolment, ident, options=lean.ENROLMENT)
    if enrolment is not None and 1 <= serial < enrolment.card_serial:
        raise CardReplaced(_l("此卡已补办新卡，旧卡（旧卡号）已停用：请使用老人的新卡"))
    if enrolment is None or enrolment.card_serial != serial:
        raise InvalidCard(_l("此卡已作废或不存在，请使用新卡"))
    if enrolment.end_reason == "transferred":  # lifecycle.TRANSFERRED: a new card was made
        raise InvalidCard(_l("此卡已停用：老人已变更服务组织，请使用新服务组织的服务卡"))
    return enrolment


def is_number(text: str) -> bool:
    """Whether `text` is a typed card number (not a QR card's URL or token)."""
    return SHORT.match(text or "") is not None


def _lookup_key(user: User) -> str:
    return f"card-number:{user.id}"


def lookup_locked_until(user: User) -> datetime | None:
    """When this account's card-number lookups open again, or None when they are open."""
    return throttle.locked_until(_lookup_key(user))


def lookup(user: User, text: str) -> Enrolment:
    """`resolve` for a person at a phone. A typed card number counts against the
    account: while it is locked every number is refused (LookupLocked, 429), the right
    one too; a wrong one counts a failure and writes an audit entry, and the one past the
    limit (concurrent tries included: the count is one conditional UPDATE) is refused as
    locked. A QR card's URL or token is signed, not guessable, and is not counted.

    Raises LookupLocked, InvalidCard (CardReplaced). Changes: the account's throttle row
    and the audit log, flushed in the current transaction, which the caller commits even
    though the request fails (else the count would roll back with it)."""
    if not is_number(text):
        return resolve(text)
    key = _lookup_key(user)
    locked = throttle.locked_until(key)
    try:
        enrolment = resolve(text)
    except InvalidCard as exc:
        # Refused either way; a try during the lock is audited, not counted again.
        until = locked or throttle.fail(
            key, limit=LOOKUP_LIMIT, window=LOOKUP_WINDOW, lock=LOOKUP_LOCK
        )
        failures = _failures(key)
        audit.record(
            "card_number_wrong",
            "user",
            user.id,
            {
                "number": text.strip()[:32],
                "failures": failures,
                "locked": locked is not None,
                "replaced": isinstance(exc, CardReplaced),
            },
        )
        if until is not None and (locked is not None or failures > LOOKUP_LIMIT):
            raise LookupLocked(until) from None
        raise
    if locked is not None:
        raise LookupLocked(locked)
    return enrolment


def _failures(key: str) -> int:
    """The key's failures in its current window, as this transaction sees them (right
    after its own conditional UPDATE: exact, whatever the concurrency)."""
    return db.session.scalar(sa.select(Throttle.failures).where(Throttle.key == key)) or 0


def reissue(enrolment: Enrolment) -> Enrolment:
    """A new card: the serial goes up by one and the old card stops working. Raises
    Conflict for an enrolment that has ended (its card serves no visit any more)."""
    if enrolment.status != "active":
        raise Conflict(_l("服务登记已终止，不能补发服务卡"), code="enrolment_ended")
    enrolment.card_serial = enrolment.card_serial + 1
    db.session.flush()
    return enrolment


def png(text: str, box_size: int = 8) -> bytes:
    img = qrcode.make(
        text, box_size=box_size, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def svg(text: str) -> bytes:
    img = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=4,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()
