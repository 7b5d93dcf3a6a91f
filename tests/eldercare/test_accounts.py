"""Accounts (API.md "Accounts", issue 13 point 4): the bureau lists, creates, disables and
resets accounts; a provider does the same for its own workers and nobody else's; a
disabled account's sessions and tokens end at once; a password set by someone else is
one-time; the /users page does all of it with CSRF, and the log never holds a password."""

from __future__ import annotations

import http.client
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from eldercare.accounts import services
from eldercare.auth.services import (
    LoginFailed,
    PasswordChangeRequired,
    authenticate,
    check_password_policy,
)
from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import AuditEntry, User
from tests import factories as f

FIELDS = {
    "id",
    "username",
    "role",
    "display_name",
    "facility_id",
    "provider_id",
    "township_code",  # a township clerk's township (issue 18); more than API.md names
    "active",
    "otp_enrolled",
    "last_login_at",
}


class Bureau:
    """An admin, an auditor, a home with its manager, and two providers, each with its
    admin and a worker."""

    def __init__(self, client):
        self.admin = f.user("admin", username="clerk")
        h = f.headers(self.admin)
        home = client.post(
            "/api/v1/facilities", headers=h, json={"name": "富乐敬老院", "kind": "care_home"}
        ).json
        prov = [
            client.post(
                "/api/v1/homecare/providers", headers=h, json={"name": name, "townships": []}
            ).json
            for name in ("康乐居家养老", "颐和居家养老")
        ]
        self.home_id, self.provider_id, self.other_provider_id = (
            home["id"],
            prov[0]["id"],
            prov[1]["id"],
        )
        self.auditor = f.user("auditor", username="shenji")
        self.manager = f.user("manager", username="mgr", facility_id=self.home_id)
        self.boss = f.user("provider", username="boss", provider_id=self.provider_id)
        self.worker = f.user("worker", username="w1", provider_id=self.provider_id)
        self.other_boss = f.user("provider", username="boss2", provider_id=self.other_provider_id)
        self.other_worker = f.user("worker", username="w2", provider_id=self.other_provider_id)


@pytest.fixture
def bureau(client):
    return Bureau(client)


def _h(u) -> dict:
    return f.headers(u)


def _fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


# --- GET /api/v1/users --------------------------------------------------------------------


def test_the_bureau_lists_every_account_in_the_list_shape(client, bureau):
    r = client.get("/api/v1/users?per_page=3", headers=_h(bureau.admin))
    assert r.status_code == 200
    assert set(r.json) == {"items", "total", "page", "per_page"}
    assert r.json["total"] == 7 and r.json["per_page"] == 3 and len(r.json["items"]) == 3
    assert all(set(item) == FIELDS for item in r.json["items"])
    every = client.get("/api/v1/users?per_page=50", headers=_h(bureau.admin)).json["items"]
    mgr = next(u for u in every if u["username"] == "mgr")
    assert mgr | {"id": 0} == {
        "id": 0,
        "username": "mgr",
        "role": "manager",
        "display_name": "mgr",
        "facility_id": bureau.home_id,
        "provider_id": None,
        "township_code": None,
        "active": True,
        "otp_enrolled": False,
        "last_login_at": None,
    }
    # filters
    workers = client.get("/api/v1/users?role=worker", headers=_h(bureau.admin)).json
    assert sorted(u["username"] for u in workers["items"]) == ["w1", "w2"]
    mine = client.get(
        f"/api/v1/users?provider_id={bureau.provider_id}", headers=_h(bureau.admin)
    ).json
    assert sorted(u["username"] for u in mine["items"]) == ["boss", "w1"]
    found = client.get("/api/v1/users?q=shen", headers=_h(bureau.admin)).json
    assert [u["username"] for u in found["items"]] == ["shenji"]
    home = client.get(f"/api/v1/users?facility_id={bureau.home_id}", headers=_h(bureau.admin))
    assert [u["username"] for u in home.json["items"]] == ["mgr"]


def test_a_provider_lists_its_own_workers_only(client, bureau):
    r = client.get("/api/v1/users", headers=_h(bureau.boss))
    assert r.status_code == 200
    assert [u["username"] for u in r.json["items"]] == ["w1"] and r.json["total"] == 1
    # asking for more does not widen it
    for query in ("role=admin", f"provider_id={bureau.other_provider_id}", "q=boss"):
        assert client.get(f"/api/v1/users?{query}", headers=_h(bureau.boss)).json["total"] == 0


@pytest.mark.parametrize("who", ["manager", "worker", "auditor"])
def test_other_roles_may_not_list_accounts(client, bureau, who):
    r = client.get("/api/v1/users", headers=_h(getattr(bureau, who)))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_no_token_no_list(client, bureau):
    assert client.get("/api/v1/users").status_code == 401


# --- POST /api/v1/users -------------------------------------------------------------------


def test_the_bureau_creates_an_account_with_a_one_time_password(client, bureau):
    r = client.post(
        "/api/v1/users",
        headers=_h(bureau.admin),
        json={
            "username": "mgr2",
            "role": "manager",
            "display_name": "王院长",
            "facility_id": bureau.home_id,
        },
    )
    assert r.status_code == 201, r.json
    assert set(r.json) == FIELDS | {"one_time_password"}
    assert r.json["role"] == "manager" and r.json["facility_id"] == bureau.home_id
    password = r.json["one_time_password"]
    check_password_policy(password)  # raises if it does not meet the policy
    user = _fresh(r.json["id"])
    assert user.must_change_password and user.display_name == "王院长"
    assert _opens("mgr2", password).id == user.id  # the password is the account's
    # every role, with its scope
    for role, scope in (
        ("admin", {}),
        ("auditor", {}),
        ("provider", {"provider_id": bureau.provider_id}),
        ("worker", {"provider_id": bureau.other_provider_id}),
    ):
        made = client.post(
            "/api/v1/users",
            headers=_h(bureau.admin),
            json={"username": f"new_{role}", "role": role} | scope,
        )
        assert made.status_code == 201 and made.json["role"] == role, made.json
    # two draws never give the same password
    other = client.post(
        "/api/v1/users",
        headers=_h(bureau.admin),
        json={"username": "mgr3", "role": "manager", "facility_id": bureau.home_id},
    )
    assert other.json["one_time_password"] != password


def test_creating_an_account_checks_its_scope_and_name(client, bureau):
    h = _h(bureau.admin)
    missing = client.post("/api/v1/users", headers=h, json={"username": "mgr9", "role": "manager"})
    assert missing.status_code == 422 and "facility_id" in missing.json["error"]["fields"]
    unknown = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "mgr9", "role": "manager", "facility_id": 999999},
    )
    assert unknown.status_code == 422 and "facility_id" in unknown.json["error"]["fields"]
    no_provider = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "wkr9", "role": "worker", "provider_id": 999999},
    )
    assert no_provider.status_code == 422 and "provider_id" in no_provider.json["error"]["fields"]
    taken = client.post("/api/v1/users", headers=h, json={"username": "boss", "role": "auditor"})
    assert taken.status_code == 409
    bad_role = client.post("/api/v1/users", headers=h, json={"username": "xyz9", "role": "root"})
    assert bad_role.status_code == 422
    no_password_field = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "xyz9", "role": "auditor", "password": "Chosen-by-me-1"},
    )
    assert no_password_field.status_code == 422  # nobody chooses another's password


@pytest.mark.parametrize("who", ["boss", "manager", "worker", "auditor"])
def test_only_the_bureau_creates_accounts_through_the_api(client, bureau, who):
    r = client.post(
        "/api/v1/users",
        headers=_h(getattr(bureau, who)),
        json={"username": "sneaky", "role": "worker", "provider_id": bureau.provider_id},
    )
    assert r.status_code == 403
    assert db.session.scalar(sa.select(User.id).where(User.username == "sneaky")) is None


# --- PATCH /api/v1/users/{id} -------------------------------------------------------------


def test_the_bureau_disables_renames_and_enables_an_account(client, bureau):
    url = f"/api/v1/users/{bureau.manager.id}"
    r = client.patch(
        url, headers=_h(bureau.admin), json={"active": False, "display_name": "王院长"}
    )
    assert r.status_code == 200 and r.json["active"] is False
    assert r.json["display_name"] == "王院长" and set(r.json) == FIELDS
    with pytest.raises(LoginFailed):
        authenticate("mgr", f.PASSWORD)
    db.session.rollback()
    r = client.patch(url, headers=_h(bureau.admin), json={"active": True})
    assert r.status_code == 200 and r.json["active"] is True
    assert authenticate("mgr", f.PASSWORD).id == bureau.manager.id
    bad = client.patch(url, headers=_h(bureau.admin), json={"active": "no"})
    assert bad.status_code == 422
    assert (
        client.patch(
            "/api/v1/users/999999", headers=_h(bureau.admin), json={"active": False}
        ).status_code
        == 404
    )


def test_a_provider_disables_its_own_workers_and_nobody_else(client, bureau):
    for who in ("manager", "worker", "auditor"):
        r = client.patch(
            f"/api/v1/users/{bureau.other_worker.id}",
            headers=_h(getattr(bureau, who)),
            json={"active": False},
        )
        assert r.status_code == 403, who
    assert _fresh(bureau.other_worker.id).active
    h = _h(bureau.boss)
    ok = client.patch(
        f"/api/v1/users/{bureau.worker.id}",
        headers=h,
        json={"active": False, "display_name": "周师傅"},
    )
    assert ok.status_code == 200 and ok.json["active"] is False
    assert ok.json["display_name"] == "周师傅"
    for target in (
        bureau.other_worker,
        bureau.admin,
        bureau.other_boss,
        bureau.boss,
        bureau.manager,
    ):
        r = client.patch(
            f"/api/v1/users/{target.id}", headers=h, json={"active": False, "display_name": "x"}
        )
        assert r.status_code == 404, target.username
        assert _fresh(target.id).active and _fresh(target.id).display_name != "x"


def test_nobody_disables_their_own_account_or_the_last_admin(client, bureau):
    r = client.patch(
        f"/api/v1/users/{bureau.admin.id}", headers=_h(bureau.admin), json={"active": False}
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "own_account"
    second = f.user("admin", username="clerk2")
    assert (
        client.patch(
            f"/api/v1/users/{second.id}", headers=_h(bureau.admin), json={"active": False}
        ).status_code
        == 200
    )
    # the second admin's request was checked before the first disabled it (the race the
    # locked count closes): it still may not leave the district without an admin
    stale = db.session.get(User, second.id)
    with pytest.raises(Conflict) as exc:
        services.set_active(stale, _fresh(bureau.admin.id), False)
    assert exc.value.code == "last_admin"
    db.session.rollback()
    assert _fresh(bureau.admin.id).active


# --- disabling ends sessions and tokens at once ---------------------------------------------


def test_disabling_ends_an_open_page_session_and_a_token_at_once(app, client, bureau):
    worker_page = app.test_client()
    f.login(worker_page, bureau.worker)
    assert worker_page.get("/scan").status_code == 200
    token = _h(bureau.worker)
    assert client.get("/api/v1/stats/overview", headers=token).status_code == 200
    boss_page = app.test_client()
    f.login(boss_page, bureau.boss)
    assert boss_page.get("/homecare/workers").status_code == 200
    r = client.patch(
        f"/api/v1/users/{bureau.worker.id}", headers=_h(bureau.boss), json={"active": False}
    )
    assert r.status_code == 200
    assert worker_page.get("/scan").status_code == 302  # back to the login page
    assert client.get("/api/v1/stats/overview", headers=token).status_code == 401
    # enabling again does not bring the old session or token back
    client.patch(
        f"/api/v1/users/{bureau.worker.id}", headers=_h(bureau.admin), json={"active": True}
    )
    assert worker_page.get("/scan").status_code == 302
    assert client.get("/api/v1/stats/overview", headers=token).status_code == 401


def _page_login(base: str, username: str, password: str = f.PASSWORD) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    r = s.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.text
    return s


@pytest.mark.race
def test_disabling_ends_sessions_and_tokens_on_every_server(client, live_servers, bureau):
    """A page session on one server, a token used on the other: the provider disables the
    worker through the second server, and both stop at once on both."""
    a, b = (s.url for s in live_servers)
    token = {"Authorization": _h(bureau.worker)["Authorization"]}
    boss = {"Authorization": _h(bureau.boss)["Authorization"]}
    worker_id = bureau.worker.id
    db.session.commit()  # hold no SQLite lock while the servers work (nor touch a row after)
    phone = _page_login(a, "w1")
    assert phone.get(f"{a}/scan", allow_redirects=False, timeout=30).status_code == 200
    for base in (a, b):
        assert (
            requests.get(f"{base}/api/v1/stats/overview", headers=token, timeout=30).status_code
            == 200
        )
    r = requests.patch(
        f"{b}/api/v1/users/{worker_id}", json={"active": False}, headers=boss, timeout=30
    )
    assert r.status_code == 200, r.text
    for base in (a, b):
        assert phone.get(f"{base}/scan", allow_redirects=False, timeout=30).status_code == 302
        assert (
            requests.get(f"{base}/api/v1/stats/overview", headers=token, timeout=30).status_code
            == 401
        )


def _patch(base: str, user_id: int, token: str) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(
        "PATCH",
        f"/api/v1/users/{user_id}",
        body=json.dumps({"active": False}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))
def test_admins_disabling_each_other_at_once_leave_one_admin(client, live_servers, round_):
    """Six admins each disable the next at the same moment, through two servers: a check
    made before the others commit would disable all six."""
    n = 6
    admins = [f.user("admin") for _ in range(n)]
    tokens = [f.headers(u)["Authorization"].split()[1] for u in admins]
    ids = [u.id for u in admins]
    db.session.commit()
    barrier = threading.Barrier(n)

    def one(i: int) -> int:
        barrier.wait()
        return _patch(live_servers[i % 2].url, ids[(i + 1) % n], tokens[i])

    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(one, range(n)))
    db.session.expire_all()
    active = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True))
    )
    assert active >= 1, statuses
    assert statuses.count(200) == n - active, statuses
    assert set(statuses) <= {200, 401, 409}, statuses


# --- reset password and second factor -------------------------------------------------------


def test_the_bureau_resets_a_password_the_old_one_and_sessions_end(app, client, bureau):
    page = app.test_client()
    f.login(page, bureau.manager)
    token = _h(bureau.manager)
    r = client.post(f"/api/v1/users/{bureau.manager.id}/reset-password", headers=_h(bureau.admin))
    assert r.status_code == 200 and set(r.json) == {"one_time_password"}
    check_password_policy(r.json["one_time_password"])
    assert _fresh(bureau.manager.id).must_change_password
    with pytest.raises(LoginFailed):
        authenticate("mgr", f.PASSWORD)
    db.session.rollback()
    assert page.get("/people").status_code == 302
    assert client.get("/api/v1/stats/overview", headers=token).status_code == 401
    assert _opens("mgr", r.json["one_time_password"]).id == bureau.manager.id
    own = client.post(f"/api/v1/users/{bureau.admin.id}/reset-password", headers=_h(bureau.admin))
    assert own.status_code == 409  # one's own password is changed with the old one


def test_a_provider_resets_its_own_workers_passwords_only(client, bureau):
    h = _h(bureau.boss)
    ok = client.post(f"/api/v1/users/{bureau.worker.id}/reset-password", headers=h)
    assert ok.status_code == 200 and ok.json["one_time_password"]
    for target in (bureau.other_worker, bureau.admin, bureau.other_boss, bureau.manager):
        assert (
            client.post(f"/api/v1/users/{target.id}/reset-password", headers=h).status_code == 404
        )
    for who in ("manager", "worker", "auditor"):
        assert (
            client.post(
                f"/api/v1/users/{bureau.other_worker.id}/reset-password",
                headers=_h(getattr(bureau, who)),
            ).status_code
            == 403
        )
    authenticate("w2", f.PASSWORD)  # untouched


def test_the_bureau_resets_a_second_factor_and_it_is_enrolled_again(app, client, bureau):
    app.config["TOTP_REQUIRED_ROLES"] = ("admin", "manager")
    try:
        import pyotp

        user = _fresh(bureau.manager.id)
        user.totp_secret = pyotp.random_base32()
        from eldercare.database import utcnow

        user.totp_confirmed_at = utcnow()
        db.session.commit()
        listed = client.get(
            f"/api/v1/users?facility_id={bureau.home_id}", headers=_h(bureau.admin)
        ).json["items"][0]
        assert listed["otp_enrolled"] is True
        for who in ("boss", "manager", "worker", "auditor"):
            assert (
                client.post(
                    f"/api/v1/users/{bureau.manager.id}/reset-otp", headers=_h(getattr(bureau, who))
                ).status_code
                == 403
            )
        assert _fresh(bureau.manager.id).totp_secret
        r = client.post(f"/api/v1/users/{bureau.manager.id}/reset-otp", headers=_h(bureau.admin))
        assert r.status_code == 200 and r.json["otp_enrolled"] is False
        assert _fresh(bureau.manager.id).totp_secret is None
        # the next page login enrols a new authenticator
        page = app.test_client()
        token = f.csrf(page, "/login")
        resp = page.post(
            "/login", data={"username": "mgr", "password": f.PASSWORD, "csrf_token": token}
        )
        assert resp.headers["Location"].endswith("/login/otp")
        assert 'data-testid="otp-secret"' in page.get("/login/otp").text
    finally:
        app.config["TOTP_REQUIRED_ROLES"] = ()


# --- one-time passwords ---------------------------------------------------------------------


def test_a_one_time_password_works_once_then_forces_a_change(client, bureau):
    made = client.post(
        "/api/v1/users", headers=_h(bureau.admin), json={"username": "newbie", "role": "auditor"}
    ).json
    once = made["one_time_password"]
    r = client.post("/api/v1/auth/token", json={"username": "newbie", "password": once})
    assert r.status_code == 403 and r.json["error"]["code"] == "password_change_required"
    changed = client.post(
        "/api/v1/auth/password",
        json={"username": "newbie", "password": once, "new_password": "Mine-and-only-2026"},
    )
    assert changed.status_code == 204, changed.text
    again = client.post("/api/v1/auth/token", json={"username": "newbie", "password": once})
    assert again.status_code == 401
    mine = client.post(
        "/api/v1/auth/token", json={"username": "newbie", "password": "Mine-and-only-2026"}
    )
    assert mine.status_code == 200


# --- the provider's workers, API and page --------------------------------------------------


def test_a_provider_creates_a_worker_with_a_one_time_password(client, bureau):
    url = f"/api/v1/homecare/providers/{bureau.provider_id}/workers"
    r = client.post(
        url, headers=_h(bureau.boss), json={"username": "wk7", "display_name": "周师傅"}
    )
    assert r.status_code == 201 and r.json["provider_id"] == bureau.provider_id
    check_password_policy(r.json["one_time_password"])
    assert _fresh(r.json["id"]).must_change_password
    chosen = client.post(
        url, headers=_h(bureau.boss), json={"username": "wk8", "password": "Boss-knows-2026"}
    )
    assert chosen.status_code == 422  # a provider no longer chooses the worker's password
    by_bureau = client.post(url, headers=_h(bureau.admin), json={"username": "wk9"})
    assert by_bureau.status_code == 201
    other = f"/api/v1/homecare/providers/{bureau.other_provider_id}/workers"
    assert client.post(other, headers=_h(bureau.boss), json={"username": "wk10"}).status_code == 404
    for who in ("manager", "worker", "auditor"):
        assert (
            client.post(
                url, headers=_h(getattr(bureau, who)), json={"username": "wk11"}
            ).status_code
            == 403
        )


def test_the_workers_page_adds_disables_and_resets_a_worker(app, client, bureau):
    f.login(client, bureau.boss)
    page = client.get("/homecare/workers")
    assert 'name="password"' not in page.text and 'data-testid="disable-w1"' in page.text
    resp = client.post(
        "/homecare/workers",
        data={
            "csrf_token": f.csrf(client, "/homecare/workers"),
            "username": "wk7",
            "display_name": "钱师傅",
        },
    )
    assert resp.status_code == 200
    shown = re.search(r'data-testid="password">([^<]+)<', resp.text).group(1)
    check_password_policy(shown)
    assert _opens("wk7", shown)  # the password shown is the worker's, once
    db.session.commit()
    assert shown not in client.get("/homecare/workers").text  # shown once, never again
    token = f.csrf(client, "/homecare/workers")
    r = client.post(
        f"/users/{bureau.worker.id}/disable",
        data={"csrf_token": token, "next": "/homecare/workers"},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/homecare/workers"
    assert not _fresh(bureau.worker.id).active
    assert 'data-testid="enable-w1"' in client.get("/homecare/workers").text
    r = client.post(
        f"/users/{bureau.worker.id}/reset-password",
        data={"csrf_token": token, "next": "/homecare/workers"},
    )
    assert r.status_code == 200 and 'data-testid="password"' in r.text
    # another provider's worker and the bureau's accounts are out of reach, on pages too
    for target in (bureau.other_worker, bureau.admin):
        for action in ("disable", "reset-password"):
            r = client.post(f"/users/{target.id}/{action}", data={"csrf_token": token})
            assert r.status_code == 404, (target.username, action)
            assert _fresh(target.id).active
    authenticate("w2", f.PASSWORD)
    assert (
        client.post(
            f"/users/{bureau.other_worker.id}/reset-otp", data={"csrf_token": token}
        ).status_code
        == 403
    )


def test_the_bureau_adds_a_worker_on_the_workers_page_as_through_the_api(client, bureau):
    f.login(client, bureau.admin)
    url = f"/homecare/workers?provider_id={bureau.provider_id}"
    resp = client.post(url, data={"csrf_token": f.csrf(client, url), "username": "wk7"})
    assert resp.status_code == 200 and 'data-testid="password"' in resp.text
    assert (
        _fresh(db.session.scalar(sa.select(User.id).where(User.username == "wk7"))).provider_id
        == bureau.provider_id
    )
    # with no provider chosen there is nothing to add to
    resp = client.post(
        "/homecare/workers",
        data={"csrf_token": f.csrf(client, "/homecare/workers"), "username": "wk8"},
    )
    assert resp.status_code == 422
    f.login(client, bureau.auditor)
    resp = client.post(url, data={"csrf_token": f.csrf(client, url), "username": "wk9"})
    assert resp.status_code == 422  # an auditor reads; the one rule refuses the rest
    assert db.session.scalar(sa.select(User.id).where(User.username.in_(["wk8", "wk9"]))) is None


# --- the /users page ----------------------------------------------------------------------


def test_the_users_page_lists_filters_and_exports(client, bureau):
    f.login(client, bureau.admin)
    page = client.get("/users")
    assert page.status_code == 200
    for name in ("clerk", "mgr", "boss", "w2", "富乐敬老院", "颐和居家养老"):
        assert name in page.text
    assert 'href="/users"' in page.text  # the menu item
    filtered = client.get("/users?role=worker&active=1")
    assert "w1" in filtered.text and "shenji" not in filtered.text
    assert "共 2 条" in filtered.text
    found = client.get("/users?q=shen")
    assert "shenji" in found.text and "boss2" not in found.text
    csv = client.get("/users?role=worker&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    rows = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0].startswith("登录名") and len(rows) == 3 and "康乐居家养老" in rows[1]
    xlsx = client.get("/users?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    client.set_cookie("lang", "en")
    assert "Accounts" in client.get("/users").text


@pytest.mark.parametrize("who", ["manager", "boss", "worker", "auditor"])
def test_the_users_page_is_the_bureaus(client, bureau, who):
    f.login(client, getattr(bureau, who))
    assert client.get("/users").status_code == 403
    assert client.get("/users?format=csv").status_code == 403
    assert 'href="/users"' not in client.get("/homecare/visits").text


def test_the_users_page_creates_disables_enables_and_resets(app, client, bureau):
    f.login(client, bureau.admin)
    token = f.csrf(client, "/users")
    resp = client.post(
        "/users",
        data={
            "csrf_token": token,
            "username": "mgr2",
            "display_name": "王院长",
            "role": "manager",
            "facility_id": str(bureau.home_id),
            "provider_id": "",
        },
    )
    assert resp.status_code == 200, resp.text
    shown = re.search(r'data-testid="password">([^<]+)<', resp.text).group(1)
    created = _opens("mgr2", shown)
    assert created.must_change_password and created.facility_id == bureau.home_id
    db.session.commit()
    assert shown not in client.get("/users").text
    missing = client.post(
        "/users", data={"csrf_token": token, "username": "mgr3", "role": "manager"}
    )
    assert missing.status_code == 422 and "必填" in missing.text
    for action, check in (("disable", lambda u: not u.active), ("enable", lambda u: u.active)):
        r = client.post(
            f"/users/{created.id}/{action}",
            data={"csrf_token": token, "next": "/users?role=manager"},
        )
        assert r.status_code == 302 and r.headers["Location"] == "/users?role=manager"
        assert check(_fresh(created.id)), action
    r = client.post(f"/users/{created.id}/reset-password", data={"csrf_token": token})
    again = re.search(r'data-testid="password">([^<]+)<', r.text).group(1)
    assert again != shown and _opens("mgr2", again)
    db.session.commit()
    r = client.post(f"/users/{created.id}/reset-otp", data={"csrf_token": token})
    assert r.status_code == 302
    # an address from elsewhere is no place to go back to
    r = client.post(
        f"/users/{created.id}/enable", data={"csrf_token": token, "next": "//evil.example/x"}
    )
    assert r.headers["Location"] == "/"
    # nobody disables themselves from the page either
    r = client.post(f"/users/{bureau.admin.id}/disable", data={"csrf_token": token})
    assert r.status_code == 303 and _fresh(bureau.admin.id).active


def test_the_users_page_refuses_a_post_without_its_token(client, bureau):
    f.login(client, bureau.admin)
    for url in (
        "/users",
        f"/users/{bureau.worker.id}/disable",
        f"/users/{bureau.worker.id}/reset-password",
        f"/users/{bureau.worker.id}/reset-otp",
    ):
        r = client.post(url, data={"username": "x99", "role": "auditor"})
        assert r.status_code == 303, url
    assert _fresh(bureau.worker.id).active
    authenticate("w1", f.PASSWORD)


# --- the audit log --------------------------------------------------------------------------


def test_every_account_change_is_audited_without_a_password(client, bureau):
    h = _h(bureau.admin)
    made = client.post(
        "/api/v1/users", headers=h, json={"username": "newbie", "role": "auditor"}
    ).json
    uid = made["id"]
    client.patch(f"/api/v1/users/{uid}", headers=h, json={"active": False})
    reset = client.post(f"/api/v1/users/{uid}/reset-password", headers=h).json
    client.post(f"/api/v1/users/{uid}/reset-otp", headers=h)
    # (a creation's entry names the row in its changes: entity_id is not known yet when
    # the log writes it)
    entries = [
        e
        for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.entity == "users").order_by(AuditEntry.id)
        )
        if e.entity_id == str(uid) or e.changes.get("id") == uid
    ]
    actions = [e.action for e in entries]
    for action in ("create", "update", "password_reset", "otp_reset", "account_sessions_ended"):
        assert action in actions, actions
    assert all(e.username == "clerk" for e in entries)
    disabled = next(e for e in entries if e.action == "update" and "active" in e.changes)
    assert disabled.changes["active"] == [True, False]
    text = json.dumps([e.changes for e in entries], ensure_ascii=False)
    for secret in (
        made["one_time_password"],
        reset["one_time_password"],
        "password_hash",
        "scrypt:",
        "pbkdf2:",
        "totp_secret",
    ):
        assert secret not in text
    api = client.get(f"/api/v1/audit?entity=users&entity_id={uid}", headers=h)
    # every entry names the account, its creation included (the create entry names its row)
    assert api.status_code == 200 and len(api.json["items"]) == len(entries)


# --- in a real browser ----------------------------------------------------------------------


@pytest.mark.browser
def test_a_provider_on_a_phone_adds_a_worker_and_disables_another(
    app, live_servers, page_for, bureau
):
    """The provider's workers page at phone width against a real server: the new worker's
    one-time password is shown once; disabling asks once, naming the account, and the
    worker's open page session on their own phone ends at once."""
    base = live_servers[0].url
    db.session.commit()  # touch no row from here on: SQLite's write lock is the server's
    errors: list[str] = []

    def log_in(page, username):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/login")
        page.fill("#username", username)
        page.fill("#password", f.PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(lambda url: "/login" not in url)

    phone = page_for(390, 844)
    log_in(phone, "w1")
    phone.goto(f"{base}/scan")
    assert "/login" not in phone.url
    boss = page_for(390, 844)
    log_in(boss, "boss")
    boss.goto(f"{base}/homecare/workers")
    boss.fill("#username", "wk7")
    boss.fill("#display_name", "钱师傅")
    boss.click("form[method=post] button[type=submit]:has-text('添加')")
    shown = boss.inner_text("[data-testid=password]").strip()
    check_password_policy(shown)
    boss.click("text=我已记下，返回")
    boss.wait_for_selector("[data-testid=disable-wk7]")
    assert shown not in boss.content()
    asked = []
    boss.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    boss.click("[data-testid=disable-w1]")
    boss.wait_for_selector("[data-testid=enable-w1]")
    assert "w1" in asked[0]
    phone.goto(f"{base}/scan")
    assert "/login" in phone.url
    assert errors == []


def _opens(username: str, one_time: str) -> User:
    """The one-time password is the account's: the login gets past it and stops only at
    the change it requires (a wrong password would be LoginFailed)."""
    with pytest.raises(PasswordChangeRequired):
        authenticate(username, one_time)
    return db.session.scalar(sa.select(User).where(User.username == username))
