"""The second factor for admin and manager accounts (MLPS 2.0 level 3)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests import factories as f


@pytest.fixture
def totp_on(app):
    app.config["TOTP_REQUIRED_ROLES"] = ("admin", "manager", "auditor")
    yield
    app.config["TOTP_REQUIRED_ROLES"] = ()


def later(secret: str, steps: int = 1) -> str:
    """The code of a later time step (still inside the accepted window of one step)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def password_step(client, username):
    token = f.csrf(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": f.PASSWORD, "csrf_token": token}
    )


def test_an_admin_enrols_at_the_first_login_and_needs_the_code_after(client, admin, totp_on):
    resp = password_step(client, "admin")
    assert resp.headers["Location"].endswith("/login/otp")
    page = client.get("/login/otp")
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert 'data-testid="otp-qr"' in page.text
    assert client.get("/people").status_code == 302  # not logged in before the code
    wrong = client.post(
        "/login/otp", data={"code": "000000", "csrf_token": f.csrf(client, "/login/otp")}
    )
    assert wrong.status_code == 401
    ok = client.post(
        "/login/otp",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": f.csrf(client, "/login/otp")},
    )
    assert ok.status_code == 302 and client.get("/people").status_code == 200
    # once enrolled, the token API wants the code too
    api = client.post("/api/v1/auth/token", json={"username": "admin", "password": f.PASSWORD})
    assert api.status_code == 401 and api.json["error"]["code"] == "otp_required"
    bad = client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": f.PASSWORD, "otp": "123456"}
    )
    assert bad.status_code == 401 and bad.json["error"]["code"] == "invalid_otp"
    # the code that enrolled is spent; the next step's code (30 s on) is accepted
    good = client.post(
        "/api/v1/auth/token",
        json={"username": "admin", "password": f.PASSWORD, "otp": later(secret)},
    )
    assert good.status_code == 200


@pytest.mark.parametrize("role", ["provider", "worker"])
def test_roles_without_a_second_factor_log_in_in_one_step(client, role, totp_on):
    u = f.scoped_user(client, role)
    assert password_step(client, u.username).headers["Location"] == "/"


def test_the_secret_never_reaches_the_audit_log(client, admin, totp_on, db):
    password_step(client, "admin")
    page = client.get("/login/otp")
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7]+)<', page.text).group(1)
    client.post(
        "/login/otp",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": f.csrf(client, "/login/otp")},
    )
    from eldercare.models import AuditEntry

    assert all(secret not in str(e.changes) for e in db.session.scalars(db.select(AuditEntry)))


def test_the_secret_is_stored_encrypted(client, admin, totp_on, db):
    """A copy of the database must not hand out the codes: the table holds ciphertext."""
    import sqlalchemy as sa

    password_step(client, "admin")
    secret = re.search(
        r'data-testid="otp-secret">([A-Z2-7]+)<', client.get("/login/otp").text
    ).group(1)
    client.post(
        "/login/otp",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": f.csrf(client, "/login/otp")},
    )
    stored = db.session.execute(
        sa.text("SELECT totp_secret FROM users WHERE username = 'admin'")
    ).scalar_one()
    assert stored.startswith("v1:") and secret not in stored
    db.session.expire_all()
    assert admin.totp_secret == secret  # and the app reads it back
