"""The second factor's rules (eldercare/auth/totp.py) called directly, on a frozen clock:
RFC 6238's own codes, one step of drift either way and not two, a code good once, an
earlier step refused after a later one, enrolment confirmed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from eldercare.auth import totp
from eldercare.auth.services import OtpInvalid
from eldercare.database import utcnow
from eldercare.extensions import db
from eldercare.models import User
from eldercare.models.audit import AuditEntry

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890", RFC 6238 App. B
NOW = datetime(2026, 6, 1, 12, 0, 15, tzinfo=UTC)


class Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(totp, "datetime", Frozen)


def code(secret: str, steps_from_now: int) -> str:
    return pyotp.TOTP(secret).at(NOW + timedelta(seconds=30 * steps_from_now))


def fails(user: User) -> list[str]:
    """The counted attempts as the audit log holds them once the request commits."""
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(
                AuditEntry.entity == "users",
                AuditEntry.entity_id == str(user.id),
                AuditEntry.action.like("totp_%"),
            )
            .order_by(AuditEntry.id)
        )
    )


def test_the_rfc_6238_codes_are_their_steps():
    assert totp.matching_step(RFC_SECRET, "287082", datetime.fromtimestamp(59, UTC)) == 1
    assert (
        totp.matching_step(RFC_SECRET, "081804", datetime.fromtimestamp(1111111109, UTC))
        == 37037036
    )


def test_a_code_one_step_either_side_of_now_passes_and_two_do_not():
    secret = pyotp.random_base32()
    now = int(NOW.timestamp()) // 30
    for drift in (-1, 0, 1):
        assert totp.matching_step(secret, code(secret, drift), NOW) == now + drift
    for drift in (-2, 2):
        assert totp.matching_step(secret, code(secret, drift), NOW) is None


@pytest.mark.parametrize("typed", ["", None, "12345", "1234567", "abcdef", "12 34 5"])
def test_anything_but_six_digits_is_no_code(typed):
    assert totp.matching_step(RFC_SECRET, typed, datetime.fromtimestamp(59, UTC)) is None


def test_spaces_typed_inside_the_code_are_ignored():
    assert totp.matching_step(RFC_SECRET, " 287 082 ", datetime.fromtimestamp(59, UTC)) == 1


def test_no_secret_matches_nothing():
    assert totp.matching_step("", "287082", datetime.fromtimestamp(59, UTC)) is None


@pytest.fixture
def enrolled(app, admin) -> tuple[User, str]:
    secret = pyotp.random_base32()
    admin.totp_secret, admin.totp_confirmed_at = secret, utcnow()
    db.session.commit()
    return admin, secret


def test_a_code_is_good_once(frozen, enrolled):
    user, secret = enrolled
    totp.verify(user, code(secret, 0))
    with pytest.raises(OtpInvalid):
        totp.verify(user, code(secret, 0))
    assert fails(user) == ["totp_reused"]
    db.session.refresh(user)
    assert user.failed_logins == 1


def test_a_later_step_passes_after_an_earlier_one_but_not_the_other_way(frozen, enrolled):
    user, secret = enrolled
    totp.verify(user, code(secret, -1))
    totp.verify(user, code(secret, 1))
    with pytest.raises(OtpInvalid):
        totp.verify(user, code(secret, 0))
    assert fails(user) == ["totp_reused"]


def test_a_wrong_code_is_a_counted_failure(frozen, enrolled):
    user, secret = enrolled
    with pytest.raises(OtpInvalid):
        totp.verify(user, code(secret, 3))
    assert fails(user) == ["totp_failed"]
    totp.verify(user, code(secret, 0))  # the wrong one spent nothing


def test_enrolment_is_confirmed_by_a_right_code_once(frozen, app, make_user):
    user = make_user("auditor")
    secret = pyotp.random_base32()
    with pytest.raises(OtpInvalid):
        totp.confirm_enrolment(user, secret, code(secret, 2))
    assert not totp.enrolled(user)
    totp.confirm_enrolment(user, secret, code(secret, 0))
    assert totp.enrolled(user) and user.totp_secret == secret
    other = pyotp.random_base32()
    with pytest.raises(OtpInvalid):  # a second session's secret does not replace it
        totp.confirm_enrolment(user, other, code(other, 1))
    assert user.totp_secret == secret
    with pytest.raises(OtpInvalid):  # the code that confirmed it is spent
        totp.verify(user, code(secret, 0))
    assert fails(user) == ["totp_failed", "totp_enrolled", "totp_reused"]
