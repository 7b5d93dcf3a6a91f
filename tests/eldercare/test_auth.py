"""Login, tokens, lockout, sessions, CSRF and headers: the account boundary."""

from __future__ import annotations

import re
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


# --- pages are pages, whatever headers they carry (issue 13.5) -------------------------


def test_an_authorization_header_does_not_skip_the_csrf_check_of_a_page(client, admin, make_person):
    p = make_person()
    f.login(client, admin)
    resp = client.post(
        f"/people/{p.id}/death",
        data={"date": "2026-01-01"},
        headers={"Authorization": "Bearer anything"},
    )
    assert resp.status_code == 303
    assert client.get(f"/api/v1/people/{p.id}", headers=f.headers(admin)).json["status"] == "active"


def test_an_authorization_header_does_not_skip_the_idle_timeout_of_a_page(client, admin):
    f.login(client, admin)
    with client.session_transaction() as s:
        s["seen"] = time.time() - 31 * 60
    resp = client.get("/", headers={"Authorization": "Bearer anything"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_bearer_token_still_opens_the_api_without_csrf(client, admin):
    body = {"name": "李四", "id_number": f.new_id_number()}
    assert client.post("/api/v1/people", json=body, headers=f.headers(admin)).status_code == 201


# --- the audit actor is the request's own (issue 13.5) ----------------------------------


@pytest.fixture(scope="module")
def one_worker(app):
    """One gunicorn worker: every request is served by the same process and thread, one
    after another, as a quiet production server serves them."""
    import requests

    from tests.conftest import LiveServer

    server = LiveServer(workers=1)
    # The master listens before its one worker has imported the app: wait for the worker
    # (on a loaded machine that took more than half a minute), not for a timeout.
    assert requests.get(f"{server.url}/healthz", timeout=1200).status_code == 200
    yield server
    server.stop()


def _last_entry(db, action):
    import sqlalchemy as sa

    from eldercare.models import AuditEntry

    db.session.expire_all()
    return db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
    ).first()


def test_a_failed_login_after_an_admins_request_is_not_logged_under_the_admin(app, db, one_worker):
    import requests

    f.user("admin", username="boss")
    f.user("admin", username="victim")
    db.session.commit()
    url = one_worker.url
    boss = requests.post(
        f"{url}/api/v1/auth/token",
        json={"username": "boss", "password": f.PASSWORD},
        timeout=120,
    ).json()["token"]
    seen = requests.get(
        f"{url}/api/v1/stats/overview", headers={"Authorization": f"Bearer {boss}"}, timeout=120
    )
    assert seen.status_code == 200
    failed = requests.post(
        f"{url}/api/v1/auth/token",
        json={"username": "victim", "password": "Wrong-pass-1"},
        timeout=120,
    )
    assert failed.status_code == 401
    entry = _last_entry(db, "login_failed")
    assert entry.username != "boss" and entry.user_id is None
    assert entry.ip == "127.0.0.1"


def test_a_failed_page_login_after_an_admins_page_is_not_logged_under_the_admin(
    app, db, one_worker
):
    import requests

    f.user("admin", username="boss2")
    db.session.commit()
    url = one_worker.url
    browser = requests.Session()
    form = browser.get(f"{url}/login", timeout=120).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    browser.post(
        f"{url}/login",
        data={"username": "boss2", "password": f.PASSWORD, "csrf_token": csrf},
        timeout=120,
    )
    assert browser.get(f"{url}/people", timeout=120, allow_redirects=False).status_code == 200
    stranger = requests.Session()
    form = stranger.get(f"{url}/login", timeout=120).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    resp = stranger.post(
        f"{url}/login",
        data={"username": "nobody-here", "password": "Wrong-pass-1", "csrf_token": csrf},
        timeout=120,
    )
    assert resp.status_code == 401
    entry = _last_entry(db, "login_failed")
    assert entry.username != "boss2" and entry.user_id is None


# --- the same cost for every name; a limit per address (issue 13.9) --------------------


@pytest.fixture
def production_hashing(app):
    saved = app.config["PASSWORD_HASH_METHOD"]
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    yield
    app.config["PASSWORD_HASH_METHOD"] = saved


def test_an_unknown_name_is_checked_with_the_method_of_real_passwords(app, production_hashing):
    from eldercare.auth.services import dummy_hash, hash_password

    def method(h):
        return h.split("$", 1)[0]

    assert (
        method(dummy_hash())
        == method(hash_password("Some-pass-1"))
        == method("scrypt:32768:8:1$x$y")
    )
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:600000"
    assert method(dummy_hash()) == "pbkdf2:sha256:600000"


def test_an_unknown_name_costs_what_a_wrong_password_costs(client, db, production_hashing):
    """Medians of several tries each: scrypt takes tens of milliseconds or more, the old
    dummy (pbkdf2, 1000 rounds) well under one, so a factor of three either way is a bound
    that tells them apart without flaking."""
    import statistics

    import sqlalchemy as sa

    from eldercare.models import User

    u = f.user("worker", **{"provider_id": f.scoped_user(client, "provider").provider_id})
    assert u.password_hash.startswith("scrypt:")

    def timed(username):
        db.session.execute(sa.update(User).values(failed_logins=0, locked_until=None))
        db.session.commit()
        start = time.perf_counter()
        resp = token(client, username, "Wrong-pass-1")
        assert resp.status_code == 401
        return time.perf_counter() - start

    # interleaved, so that a burst of load on a shared machine falls on both alike
    pairs = [(timed(u.username), timed("no-such-user")) for _ in range(9)]
    known = statistics.median(k for k, _ in pairs)
    unknown = statistics.median(x for _, x in pairs)
    # the old dummy cost 3 % of a wrong password (11 ms against 346 ms)
    assert known / 3 < unknown < known * 3, (known, unknown)


SPRAYER = {"X-Forwarded-For": "203.0.113.9"}  # behind nginx on 127.0.0.1, as README sets up
BUREAU = {"X-Forwarded-For": "198.51.100.7"}


def _try(client, username, password, headers):
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        headers=headers,
    )


def test_spraying_from_one_address_stops_that_address_not_the_accounts(client, admin):
    # 29 failures spread over many names (4 on a real one: below its own lock)
    for n in range(25):
        assert _try(client, f"user{n}", "Spring-2026!", SPRAYER).status_code == 401
    for _ in range(4):
        assert _try(client, "admin", "Spring-2026!", SPRAYER).status_code == 401
    assert _try(client, "admin", f.PASSWORD, SPRAYER).status_code == 200  # below the limit
    thirtieth = _try(client, "user99", "Spring-2026!", SPRAYER)
    assert thirtieth.status_code == 429
    assert thirtieth.json["error"]["code"] == "too_many_attempts"
    assert 0 < int(thirtieth.headers["Retry-After"]) <= 15 * 60 + 1
    # the address is stopped, even with the right password, on the API and the page
    assert _try(client, "admin", f.PASSWORD, SPRAYER).status_code == 429
    page = client.post(
        "/login",
        data={"username": "admin", "password": f.PASSWORD, "csrf_token": f.csrf(client, "/login")},
        headers=SPRAYER,
    )
    assert page.status_code == 429 and "Retry-After" in page.headers
    # the accounts it named are not: the bureau logs in from its own address
    assert _try(client, "admin", f.PASSWORD, BUREAU).status_code == 200


def test_an_address_not_behind_the_proxy_cannot_name_another(app, admin):
    direct = app.test_client()
    direct.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    for n in range(30):
        headers = {"X-Forwarded-For": f"10.0.0.{n}"}
        _try(direct, f"user{n}", "Spring-2026!", headers)
    assert _try(direct, "admin", f.PASSWORD, {"X-Forwarded-For": "10.9.9.9"}).status_code == 429
    assert _try(app.test_client(), "admin", f.PASSWORD, {}).status_code == 200
