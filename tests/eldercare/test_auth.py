"""Login, tokens, lockout, sessions, CSRF and headers: the account boundary."""

from __future__ import annotations

import time

import pytest

from tests import factories as f


def token(client, username, password=f.PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_token_is_issued_for_the_right_password_and_opens_the_api(client, admin):
    resp = token(client, "admin")
    assert resp.status_code == 200
    assert resp.json["expires_at"].endswith("+08:00")
    h = {"Authorization": f"Bearer {resp.json['token']}"}
    assert client.get("/api/v1/stats/overview", headers=h).status_code == 200


@pytest.mark.parametrize("username", ["admin", "nobody"])
def test_wrong_user_and_wrong_password_get_the_same_answer(client, admin, username):
    resp = token(client, username, "Wrong-pass-1")
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "invalid_credentials"
    assert resp.json["error"]["message"] == "用户名或密码错误"


def test_five_failures_lock_the_account_even_against_the_right_password(client, admin):
    for _ in range(5):
        token(client, "admin", "Wrong-pass-1")
    resp = token(client, "admin")
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60 + 1
    assert resp.json["error"]["code"] == "account_locked"


def test_the_lock_lives_in_the_database_so_every_worker_sees_it(app, client, admin):
    for _ in range(5):
        token(client, "admin", "Wrong-pass-1")
    from eldercare import create_app

    other_worker = create_app({"TESTING": True}).test_client()
    assert token(other_worker, "admin").status_code == 429


def test_login_page_shows_a_clear_lock_message(client, admin):
    for _ in range(5):
        token(client, "admin", "Wrong-pass-1")
    csrf = f.csrf(client, "/login")
    resp = client.post(
        "/login", data={"username": "admin", "password": f.PASSWORD, "csrf_token": csrf}
    )
    assert resp.status_code == 429
    assert "账号已锁定" in resp.text


def test_unauthenticated_api_call_is_401_in_the_contract_shape(client):
    resp = client.get("/api/v1/people")
    assert resp.status_code == 401
    assert set(resp.json["error"]) >= {"code", "message"}


def test_a_forged_token_is_refused(client, admin):
    good = token(client, "admin").json["token"]
    resp = client.get("/api/v1/people", headers={"Authorization": f"Bearer {good[:-2]}xx"})
    assert resp.status_code == 401


def test_logout_ends_the_session_and_every_token(client, admin):
    h = f.headers(admin)
    f.login(client, admin)
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": f.csrf(client)})
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/people", headers=h).status_code == 401


def test_disabled_account_loses_its_session(client, db, admin):
    f.login(client, admin)
    admin.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_idle_session_expires_after_30_minutes(client, admin):
    f.login(client, admin)
    with client.session_transaction() as s:
        s["seen"] = time.time() - 31 * 60
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_session_expires_after_12_hours_even_when_busy(client, admin):
    f.login(client, admin)
    with client.session_transaction() as s:
        s["started"] = time.time() - 12 * 3600 - 5
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, admin):
    resp = client.post("/login", data={"username": "admin", "password": f.PASSWORD})
    assert resp.status_code != 302
    assert client.get("/").status_code == 302


def test_a_page_post_without_csrf_changes_nothing(client, admin, make_person):
    p = make_person()
    f.login(client, admin)
    resp = client.post(f"/people/{p.id}/death", data={"date": "2026-01-01"})
    assert resp.status_code == 303
    assert client.get(f"/api/v1/people/{p.id}", headers=f.headers(admin)).json["status"] == "active"


def test_session_cookie_api_write_needs_the_csrf_header(client, admin):
    f.login(client, admin)
    body = {"name": "李四", "id_number": f.new_id_number()}
    assert client.post("/api/v1/people", json=body).status_code == 400
    resp = client.post("/api/v1/people", json=body, headers={"X-CSRFToken": f.csrf(client)})
    assert resp.status_code == 201


def test_pages_carry_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_weak_passwords_are_refused(app):
    from eldercare.auth.services import check_password_policy
    from eldercare.errors import Invalid

    for weak in ("short1A", "alllowercase1", "ALLUPPER123", "NoDigitsHere"):
        with pytest.raises(Invalid):
            check_password_policy(weak)
    check_password_policy("Good-pass-1")


def test_open_redirect_after_login_is_refused(client, admin):
    page = client.get("/login?next=//evil.example/")
    token_ = f.csrf(client, "/login")
    del page
    resp = client.post(
        "/login?next=//evil.example/",
        data={"username": "admin", "password": f.PASSWORD, "csrf_token": token_},
    )
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("role", ["manager", "provider", "worker", "auditor"])
def test_only_the_bureau_registers_people(client, role):
    u = f.scoped_user(client, role)
    resp = client.post(
        "/api/v1/people",
        json={"name": "李四", "id_number": f.new_id_number()},
        headers=f.headers(u),
    )
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "forbidden"
