"""The township clerk's scope, both ways: their township's applications and people, and
nothing of another township's, not even by id (404); the steps of the bureau are 403;
roles without a part in intake are refused."""

from __future__ import annotations

import pytest

from eldercare.cli import cli
from eldercare.extensions import db
from eldercare.models import User
from tests import factories as f

from .helpers import SHIMA, XINQIAO, applicant, assessment, clerk, receive


def _two_townships(client):
    ours, theirs = clerk(SHIMA), clerk(XINQIAO)
    mine = applicant("石马人", SHIMA)
    other = applicant("新桥人", XINQIAO)
    a_mine = receive(client, f.headers(ours), mine)
    a_other = receive(client, f.headers(theirs), other)
    return ours, mine, other, a_mine, a_other


def test_a_clerk_sees_only_their_townships_applications_and_people(client, admin_headers):
    ours, mine, other, a_mine, a_other = _two_townships(client)
    h = f.headers(ours)
    listed = client.get("/api/v1/applications", headers=h).json
    assert [a["id"] for a in listed["items"]] == [a_mine["id"]] and listed["total"] == 1
    # asking for the other township by filter changes nothing
    assert client.get(f"/api/v1/applications?township_code={XINQIAO}", headers=h).json["total"] == 0
    assert client.get(f"/api/v1/applications/{a_other['id']}", headers=h).status_code == 404
    assert (
        client.post(
            f"/api/v1/applications/{a_other['id']}/check",
            headers=h,
            json={"assessment": assessment()},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/applications/{a_other['id']}/withdraw", headers=h, json={"reason": "x"}
        ).status_code
        == 404
    )
    people = client.get("/api/v1/people", headers=h).json
    assert [p["id"] for p in people["items"]] == [mine.id]
    assert people["items"][0]["id_number"].count("*") == 8  # masked for the township
    assert client.get(f"/api/v1/people/{other.id}", headers=h).status_code == 404
    # nor may they receive for someone of another township
    resp = client.post(
        "/api/v1/applications",
        headers=h,
        json={"kind": "homecare", "person_id": other.id, "received_on": a_mine["received_on"]},
    )
    assert resp.status_code == 404
    # the bureau sees both
    assert client.get("/api/v1/applications", headers=admin_headers).json["total"] == 2


def test_the_clerks_pages_keep_the_same_scope(client):
    ours, _mine, other, a_mine, a_other = _two_townships(client)
    f.login(client, ours)
    page = client.get("/applications")
    assert page.status_code == 200 and "石马人" in page.text and "新桥人" not in page.text
    assert client.get(f"/applications/{a_other['id']}").status_code == 404
    assert client.get(f"/applications/{a_mine['id']}").status_code == 200
    elsewhere = client.get(f"/people/{other.id}")
    assert elsewhere.status_code == 404 and "新桥人" not in elsewhere.text
    people = client.get("/people")
    assert "石马人" in people.text and "新桥人" not in people.text
    token = f.csrf(client, f"/applications/{a_mine['id']}")
    resp = client.post(f"/applications/{a_other['id']}/check", data={"csrf_token": token})
    assert resp.status_code == 404


def test_the_bureau_decides_the_clerk_does_not(client):
    ours, _mine, _other, a_mine, _ = _two_townships(client)
    h = f.headers(ours)
    assert (
        client.post(
            f"/api/v1/applications/{a_mine['id']}/decide", headers=h, json={"approved": True}
        ).status_code
        == 403
    )
    assert (
        client.put("/api/v1/homecare/eligibility-rules", headers=h, json={"rules": []}).status_code
        == 403
    )
    assert client.get("/api/v1/intake/figures", headers=h).status_code == 403


@pytest.mark.parametrize("role", ["manager", "provider", "worker"])
def test_roles_without_a_part_in_intake_are_refused(client, role):
    _two_townships(client)
    u = f.scoped_user(client, role)
    h = f.headers(u)
    assert client.get("/api/v1/applications", headers=h).status_code == 403
    assert client.get("/api/v1/homecare/waiting-list", headers=h).status_code == 403
    f.login(client, u)
    assert client.get("/applications").status_code == 403


def test_the_auditor_reads_and_changes_nothing(client):
    _, _mine, _o, a_mine, _ = _two_townships(client)
    h = f.headers(f.user("auditor"))
    assert client.get("/api/v1/applications", headers=h).json["total"] == 2
    assert (
        client.post(
            f"/api/v1/applications/{a_mine['id']}/check",
            headers=h,
            json={"assessment": assessment()},
        ).status_code
        == 403
    )


def test_create_user_makes_a_township_clerk(app, client):
    runner = app.test_cli_runner()
    ok = runner.invoke(
        cli,
        [
            "create-user",
            "shima1",
            "--role",
            "township",
            "--township",
            SHIMA,
            "--password",
            "Shima-clerk-2026",
        ],
    )
    assert ok.exit_code == 0, ok.output
    u = db.session.query(User).filter_by(username="shima1").one()
    assert u.role.value == "township" and u.township_code == SHIMA
    missing = runner.invoke(
        cli, ["create-user", "shima2", "--role", "township", "--password", "Shima-clerk-2026"]
    )
    assert missing.exit_code != 0 and "乡镇" in missing.output
    unknown = runner.invoke(
        cli,
        [
            "create-user",
            "shima3",
            "--role",
            "township",
            "--township",
            "999999999",
            "--password",
            "Shima-clerk-2026",
        ],
    )
    assert unknown.exit_code != 0


def test_the_accounts_api_creates_a_township_clerk(client, admin_headers):
    resp = client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "xinqiao1", "role": "township", "township_code": XINQIAO},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json["township_code"] == XINQIAO and resp.json["one_time_password"]
    bad = client.post(
        "/api/v1/users", headers=admin_headers, json={"username": "xinqiao2", "role": "township"}
    )
    assert bad.status_code == 422 and "township_code" in bad.json["error"]["fields"]
