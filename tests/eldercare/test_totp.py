"""The second factor for admin, manager and auditor accounts (MLPS 2.0 level 3), with
ELDERCARE_TOTP on as in production (elsewhere the tests run with it off)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import sqlalchemy as sa

from eldercare.database import utcnow
from eldercare.models import AuditEntry, User
from tests import factories as f


@pytest.fixture
def totp_on(app):
    """The production setting (config.py without ELDERCARE_TOTP=off)."""
    from eldercare.config import Config

    saved = app.config["TOTP_REQUIRED_ROLES"]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ELDERCARE_TOTP")
        app.config["TOTP_REQUIRED_ROLES"] = Config().TOTP_REQUIRED_ROLES
    yield
    app.config["TOTP_REQUIRED_ROLES"] = saved


def later(secret: str, steps: int = 1) -> str:
    """The code of a later time step (still inside the accepted window of one step)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def password_step(client, username, password=f.PASSWORD):
    token = f.csrf(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def code_step(client, code):
    return client.post(
        "/login/otp", data={"code": code, "csrf_token": f.csrf(client, "/login/otp")}
    )


def enrol_on_the_page(client, username) -> str:
    """The first page login: the password, then the secret shown, then its code."""
    assert password_step(client, username).headers["Location"].endswith("/login/otp")
    page = client.get("/login/otp")
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert code_step(client, pyotp.TOTP(secret).now()).status_code == 302
    return secret


def token(client, username, otp=None, password=f.PASSWORD):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return client.post("/api/v1/auth/token", json=body)


def enrolled_directly(db, user) -> str:
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_confirmed_at = utcnow()
    db.session.commit()
    return secret


def test_production_asks_admins_managers_and_auditors_for_the_factor(app, totp_on):
    assert set(app.config["TOTP_REQUIRED_ROLES"]) == {"admin", "manager", "auditor"}
    with pytest.MonkeyPatch.context() as mp:  # the laptop-demo switch, and only it
        from eldercare.config import Config

        mp.setenv("ELDERCARE_TOTP", "off")
        assert Config().TOTP_REQUIRED_ROLES == ()
        mp.setenv("ELDERCARE_TOTP", "no")
        assert "auditor" in Config().TOTP_REQUIRED_ROLES


def test_an_admin_enrols_at_the_first_login_and_needs_the_code_after(client, admin, totp_on):
    resp = password_step(client, "admin")
    assert resp.headers["Location"].endswith("/login/otp")
    page = client.get("/login/otp")
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert 'data-testid="otp-qr"' in page.text
    assert client.get("/people").status_code == 302  # not logged in before the code
    assert code_step(client, "000000").status_code == 401
    ok = code_step(client, pyotp.TOTP(secret).now())
    assert ok.status_code == 302 and client.get("/people").status_code == 200
    # once enrolled, the token API wants the code too
    api = token(client, "admin")
    assert api.status_code == 401 and api.json["error"]["code"] == "otp_required"
    bad = token(client, "admin", "123456")
    assert bad.status_code == 401 and bad.json["error"]["code"] == "invalid_otp"
    # the code that enrolled is spent; the next step's code (30 s on) is accepted
    assert token(client, "admin", later(secret)).status_code == 200


@pytest.mark.parametrize("role", ["admin", "manager", "auditor"])
def test_no_token_without_an_enrolled_second_factor(client, role, totp_on):
    """The token path never enrols: an account that has not enrolled gets no token with
    the password alone (before, admins and managers did; auditors had no factor at all)."""
    u = f.scoped_user(client, role)
    resp = token(client, u.username)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "otp_enrolment_required"
    assert token(client, u.username, "123456").json["error"]["code"] == "otp_enrolment_required"
    # a wrong password still says only that
    wrong = token(client, u.username, password="Wrong-pass-1")
    assert wrong.json["error"]["code"] == "invalid_credentials"


def test_an_auditor_has_the_second_factor_on_the_page_too(client, make_user, totp_on):
    make_user("auditor", username="aud")
    secret = enrol_on_the_page(client, "aud")
    assert token(client, "aud").json["error"]["code"] == "otp_required"
    assert token(client, "aud", later(secret)).status_code == 200


@pytest.mark.parametrize("role", ["provider", "worker"])
def test_roles_without_a_second_factor_log_in_in_one_step(client, role, totp_on):
    u = f.scoped_user(client, role)
    assert password_step(client, u.username).headers["Location"] == "/"
    assert token(client, u.username).status_code == 200


def test_a_code_is_accepted_once_on_every_path(client, admin, db, totp_on):
    secret = enrolled_directly(db, admin)
    code = later(secret)
    assert token(client, "admin", code).status_code == 200
    again = token(client, "admin", code)
    assert again.status_code == 401 and again.json["error"]["code"] == "invalid_otp"
    # the same code on the page: refused too
    assert password_step(client, "admin").headers["Location"].endswith("/login/otp")
    assert code_step(client, code).status_code == 401
    assert client.get("/people").status_code == 302
    # an earlier step than the last accepted one is refused as well
    assert token(client, "admin", pyotp.TOTP(secret).now()).status_code == 401
    assert code_step(client, pyotp.TOTP(secret).now()).status_code == 401


def test_twelve_wrong_codes_lock_the_account_and_the_right_one_does_not_pass(
    client, admin, db, totp_on
):
    secret = enrolled_directly(db, admin)
    answers = [token(client, "admin", f"{n:06d}").status_code for n in range(12)]
    assert answers[:4] == [401] * 4 and answers[4:] == [429] * 8
    right = token(client, "admin", pyotp.TOTP(secret).now())
    assert right.status_code == 429
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60 + 1
    # the page says so too, with Retry-After, at the password step already
    page = password_step(client, "admin")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert "账号已锁定" in page.text


def test_wrong_codes_and_wrong_passwords_count_together(client, admin, db, totp_on):
    secret = enrolled_directly(db, admin)
    for _ in range(2):
        token(client, "admin", password="Wrong-pass-1")
    for _ in range(2):
        token(client, "admin", "000000")
    assert token(client, "admin", "111111").status_code == 429  # the fifth failure
    assert token(client, "admin", pyotp.TOTP(secret).now()).status_code == 429


def test_four_failures_then_the_right_code_passes_and_clears_the_count(client, admin, db, totp_on):
    secret = enrolled_directly(db, admin)
    for _ in range(4):
        token(client, "admin", "000000")
    assert token(client, "admin", pyotp.TOTP(secret).now()).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, admin.id).failed_logins == 0


def test_wrong_codes_on_the_page_lock_with_retry_after(client, admin, db, totp_on):
    secret = enrolled_directly(db, admin)
    password_step(client, "admin")
    statuses = [code_step(client, "000000").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    # the lock holds for the right code, on the page and the API
    assert password_step(client, "admin").status_code == 429
    assert token(client, "admin", pyotp.TOTP(secret).now()).status_code == 429


def test_an_admin_resets_the_second_factor(client, admin, db, make_user, totp_on):
    """reset_otp: the account enrols again at its next page login; its sessions end."""
    from eldercare.auth.services import reset_otp

    manager = f.scoped_user(client, "manager", admin)
    first = enrol_on_the_page(client, manager.username)
    assert client.get("/people").status_code == 200
    reset_otp(db.session.get(User, manager.id))
    db.session.commit()
    assert client.get("/people").status_code == 302  # the session ended
    resp = token(client, manager.username, later(first))
    assert resp.json["error"]["code"] == "otp_enrolment_required"
    second = enrol_on_the_page(client, manager.username)
    assert second != first
    assert token(client, manager.username, later(second)).status_code == 200
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.entity_id == str(manager.id))
    ).all()
    assert "totp_reset" in actions


def test_a_one_time_password_is_changed_after_the_second_factor(client, db, totp_on):
    from eldercare.auth.services import create_user

    admin = f.user("admin")
    fac = client.post(
        "/api/v1/facilities",
        headers=f.headers(admin),
        json={"name": "一次性敬老院", "kind": "care_home"},
    )
    create_user("newmgr", "Given-by-admin-1", "manager", facility_id=fac.json["id"], one_time=True)
    db.session.commit()
    # the token path: the factor first (not enrolled yet)
    assert token(client, "newmgr", password="Given-by-admin-1").json["error"]["code"] == (
        "otp_enrolment_required"
    )
    resp = password_step(client, "newmgr", "Given-by-admin-1")
    assert resp.headers["Location"].endswith("/login/otp")
    secret = re.search(
        r'data-testid="otp-secret">([A-Z2-7]+)<', client.get("/login/otp").text
    ).group(1)
    done = code_step(client, pyotp.TOTP(secret).now())
    assert done.headers["Location"].endswith("/login/password")
    assert client.get("/people").status_code == 302  # nothing else is reachable
    # with both factors right, the token path still refuses the one-time password
    refused = token(client, "newmgr", later(secret), password="Given-by-admin-1")
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "password_change_required"
    page = client.get("/login/password")
    assert 'data-testid="one-time-note"' in page.text
    changed = client.post(
        "/login/password",
        data={
            "new_password": "Mine-own-pass-9",
            "confirm": "Mine-own-pass-9",
            "csrf_token": f.csrf(client, "/login/password"),
        },
    )
    assert changed.status_code == 302 and client.get("/people").status_code == 200
    assert token(client, "newmgr", later(secret, -1), "Given-by-admin-1").status_code == 401


def test_changing_the_password_through_the_api_wants_the_code_once_enrolled(
    client, admin, db, totp_on
):
    secret = enrolled_directly(db, admin)
    body = {"username": "admin", "password": f.PASSWORD, "new_password": "Another-pass-7"}
    resp = client.post("/api/v1/auth/password", json=body)
    assert resp.status_code == 401 and resp.json["error"]["code"] == "otp_required"
    resp = client.post("/api/v1/auth/password", json=dict(body, otp=pyotp.TOTP(secret).now()))
    assert resp.status_code == 204


def test_the_secret_never_reaches_the_audit_log(client, admin, totp_on, db):
    secret = enrol_on_the_page(client, "admin")
    assert all(secret not in str(e.changes) for e in db.session.scalars(db.select(AuditEntry)))


def test_the_secret_is_stored_encrypted(client, admin, totp_on, db):
    """A copy of the database must not hand out the codes: the table holds ciphertext."""
    secret = enrol_on_the_page(client, "admin")
    stored = db.session.execute(
        sa.text("SELECT totp_secret FROM users WHERE username = 'admin'")
    ).scalar_one()
    assert stored.startswith("v1:") and secret not in stored
    db.session.expire_all()
    assert admin.totp_secret == secret  # and the app reads it back


# --- one code, many requests at once ---------------------------------------------------


def _post(url: str, body: dict) -> int:
    assert url.startswith("http://127.0.0.1:")
    headers = {"Content-Type": "application/json"}
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (local servers)
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_one_code_sent_at_once_to_several_processes_wins_once(app, live_servers, db, round_):
    """Enrolled accounts need their code whatever ELDERCARE_TOTP says, so the servers of
    the run (started with it off) check codes as production does."""
    admin = f.user("admin")
    secret = enrolled_directly(db, admin)
    if 30 - time.time() % 30 < 3:  # not across a step boundary: the code must stay valid
        time.sleep(3.5)
    code = pyotp.TOTP(secret).now()
    n = 4  # fewer than the five failures that would lock the account
    urls = [live_servers[i % 2].url + "/api/v1/auth/token" for i in range(n)]
    body = {"username": admin.username, "password": f.PASSWORD, "otp": code}
    db.session.commit()
    barrier = threading.Barrier(n)

    def one(url):
        barrier.wait()
        return _post(url, body)

    with ThreadPoolExecutor(n) as pool:
        statuses = sorted(pool.map(one, urls))
    assert statuses == [200] + [401] * (n - 1)
    db.session.expire_all()
    assert db.session.get(User, admin.id).totp_last_step is not None
