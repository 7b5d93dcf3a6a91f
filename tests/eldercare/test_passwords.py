"""One-time passwords and changing one's own password (issue 13.4): a password someone
else set is good for one login, which must replace it; anyone changes their own."""

from __future__ import annotations

from tests import factories as f


def token(client, username, password=f.PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def _one_time_worker(client, db, password="Given-by-them-1"):  # noqa: S107
    from eldercare.auth.services import create_user

    provider_id = f.scoped_user(client, "provider").provider_id
    u = create_user("newbie", password, "worker", provider_id=provider_id, one_time=True)
    db.session.commit()
    return u


def _page_login(client, username, password):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": f.csrf(client, "/login")},
    )


def test_a_one_time_password_gets_no_token(client, db):
    _one_time_worker(client, db)
    resp = token(client, "newbie", "Given-by-them-1")
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "password_change_required"


def test_a_one_time_password_leads_to_the_change_form_and_nowhere_else(client, db):
    _one_time_worker(client, db)
    resp = _page_login(client, "newbie", "Given-by-them-1")
    assert resp.headers["Location"].endswith("/login/password")
    for path in ("/", "/scan", "/people", "/api/v1/stats/overview"):
        assert client.get(path).status_code in (302, 401), path

    def choose(new, confirm=None):
        return client.post(
            "/login/password",
            data={
                "new_password": new,
                "confirm": confirm or new,
                "csrf_token": f.csrf(client, "/login/password"),
            },
        )

    assert choose("Mine-own-pass-9", "Mine-own-pass-8").status_code == 422
    assert choose("weakpass").status_code == 422
    assert choose("Given-by-them-1").status_code == 422  # the one-time one again
    done = choose("Mine-own-pass-9")
    assert done.status_code == 302 and client.get("/scan").status_code == 200
    assert token(client, "newbie", "Given-by-them-1").status_code == 401
    assert token(client, "newbie", "Mine-own-pass-9").status_code == 200


def test_changing_a_password_through_the_api(client, db, admin):
    before = f.headers(admin)
    f.login(client, admin)
    body = {"username": "admin", "password": f.PASSWORD, "new_password": "Brand-new-pass-3"}
    resp = client.post("/api/v1/auth/password", json=body)
    assert resp.status_code == 204 and resp.data == b""
    assert token(client, "admin").status_code == 401  # the old password stops working
    assert token(client, "admin", "Brand-new-pass-3").status_code == 200
    assert client.get("/api/v1/people", headers=before).status_code == 401  # tokens end
    assert client.get("/").status_code == 302  # and sessions


def test_the_api_change_clears_a_one_time_password(client, db):
    _one_time_worker(client, db)
    body = {"username": "newbie", "password": "Given-by-them-1", "new_password": "Mine-own-9x"}
    assert client.post("/api/v1/auth/password", json=body).status_code == 204
    assert token(client, "newbie", "Mine-own-9x").status_code == 200


def test_the_api_change_checks_the_policy_and_counts_wrong_passwords(client, admin):
    weak = {"username": "admin", "password": f.PASSWORD, "new_password": "weak"}
    resp = client.post("/api/v1/auth/password", json=weak)
    assert resp.status_code == 422 and "new_password" in resp.json["error"]["fields"]
    wrong = {"username": "admin", "password": "Wrong-pass-1", "new_password": "Brand-new-pass-3"}
    answers = [client.post("/api/v1/auth/password", json=wrong).status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    right = dict(wrong, password=f.PASSWORD)
    locked = client.post("/api/v1/auth/password", json=right)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert token(client, "admin").status_code == 429


def test_one_changes_ones_own_password_on_a_page(app, client, admin):
    elsewhere = app.test_client()
    f.login(elsewhere, admin)
    h = f.headers(admin)
    f.login(client, admin)
    page = client.get("/password")
    assert page.status_code == 200 and 'name="new_password"' in page.text

    def change(current, new):
        return client.post(
            "/password",
            data={
                "password": current,
                "new_password": new,
                "confirm": new,
                "csrf_token": f.csrf(client, "/password"),
            },
        )

    assert change("Wrong-pass-1", "Brand-new-pass-3").status_code == 401
    assert change(f.PASSWORD, "short").status_code == 422
    assert change(f.PASSWORD, "Brand-new-pass-3").status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert elsewhere.get("/").status_code == 302  # every other one ends
    assert client.get("/api/v1/people", headers=h).status_code == 401
    assert token(client, "admin", "Brand-new-pass-3").status_code == 200


def test_create_user_with_a_password_on_the_command_line_is_final(app, db):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from eldercare.cli import cli

    result = CliRunner().invoke(
        cli,
        ["create-user", "robot", "--role", "admin", "--password", "Robot-pass-2026"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert token(client, "robot", "Robot-pass-2026").status_code == 200
