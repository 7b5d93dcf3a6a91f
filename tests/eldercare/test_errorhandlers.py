"""Every failure in the right shape (eldercare/errorhandlers.py): the API's error body
under /api/, a page elsewhere, for not found, forbidden, refused, conflicting, malformed,
unavailable and unexpected, with nothing stored. Routes that fail on purpose live on an
app of their own, over the test database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import abort
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from eldercare import create_app
from eldercare.auth.services import create_user
from eldercare.errors import Conflict, Forbidden, NotFound
from eldercare.extensions import db
from eldercare.models import User
from tests import factories as f


def fail(exc: Exception):
    raise exc


FAILURES = {
    "missing": lambda: fail(NotFound("未找到该人员")),
    "abort403": lambda: abort(403),
    "forbidden": lambda: fail(Forbidden("只能管理本机构的床位")),
    "conflict": lambda: fail(
        Conflict("床位已停用", fields={"bed_id": "床位已停用"}, code="bed_out_of_service")
    ),
    "integrity": lambda: fail(IntegrityError("INSERT", {}, Exception("dup"))),
    "data": lambda: fail(DataError("INSERT", {}, Exception("too big"))),
    "down": lambda: fail(OperationalError("SELECT", {}, Exception("gone"))),
    "bug": lambda: 1 / 0,
}


@pytest.fixture(scope="module")
def failing(app):
    """An app like the real one with routes that store a user, then fail."""
    a = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )

    def route(name):
        def view():
            create_user(f"left_behind_{name}", f.PASSWORD, "auditor")
            db.session.flush()
            FAILURES[name]()
            return "unreachable"

        return view

    for name in FAILURES:
        a.add_url_rule(
            f"/api/v1/fail/{name}", f"api_fail_{name}", route(name), methods=["GET", "POST"]
        )
        a.add_url_rule(f"/fail/{name}", f"page_fail_{name}", route(name), methods=["GET", "POST"])
    return a


@pytest.fixture
def api(failing):
    return failing.test_client()


def nothing_stored() -> bool:
    """The user the route added was not committed."""
    db.session.remove()
    return (
        db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.username.like("left_behind_%"))
        )
        == 0
    )


@pytest.mark.parametrize(
    "name, status, code",
    [
        ("missing", 404, "not_found"),
        ("abort403", 403, "forbidden"),
        ("forbidden", 403, "forbidden"),
        ("conflict", 409, "bed_out_of_service"),
        ("integrity", 409, "conflict"),
        ("data", 422, "validation_failed"),
        ("down", 503, "unavailable"),
        ("bug", 500, "internal_error"),
    ],
)
def test_the_api_answers_every_failure_with_its_error_body(api, name, status, code):
    r = api.get(f"/api/v1/fail/{name}")
    assert r.status_code == status
    assert r.json["error"]["code"] == code
    assert r.json["error"]["message"]
    assert nothing_stored()


def test_the_api_names_the_fields_of_a_refusal(api):
    assert api.get("/api/v1/fail/conflict").json["error"] == {
        "code": "bed_out_of_service",
        "message": "床位已停用",
        "fields": {"bed_id": "床位已停用"},
    }


def test_the_api_says_when_to_try_again_while_the_database_is_away(api):
    r = api.get("/api/v1/fail/down")
    assert r.headers["Retry-After"] == "1"


def test_an_unknown_api_path_and_method_answer_the_error_body(api):
    r = api.get("/api/v1/no-such-thing")
    assert (r.status_code, r.json["error"]["code"]) == (404, "not_found")
    r = api.delete("/api/v1/fail/bug")
    assert (r.status_code, r.json["error"]["code"]) == (405, "method_not_allowed")


@pytest.mark.parametrize(
    "name, status, words",
    [
        ("missing", 404, "页面或记录不存在。"),
        ("abort403", 403, "您的角色无权访问此页面。"),
        ("down", 503, "数据库暂时无法访问，请稍后重试。"),
        ("bug", 500, "出错了，请稍后重试。"),
    ],
)
def test_a_page_answers_with_the_error_page(api, name, status, words):
    r = api.get(f"/fail/{name}")
    assert r.status_code == status
    assert r.mimetype == "text/html" and words in r.text
    assert nothing_stored()


def test_a_missing_record_and_an_unknown_page_look_the_same(api):
    missing, unknown = api.get("/fail/missing"), api.get("/no-such-page")
    assert missing.status_code == unknown.status_code == 404
    assert "未找到该人员" not in missing.text  # no hint of what was looked for


@pytest.mark.parametrize(
    "name, message",
    [
        ("forbidden", "只能管理本机构的床位"),
        ("conflict", "床位已停用"),
        ("integrity", "与现有记录冲突，未作更改"),
        ("data", "输入的数值超出范围或格式无效"),
    ],
)
def test_a_refused_page_request_goes_back_with_the_reason_flashed(api, name, message):
    r = api.get(f"/fail/{name}", headers={"Referer": "http://localhost/people"})
    assert (r.status_code, r.headers["Location"]) == (303, "http://localhost/people")
    with api.session_transaction() as s:
        assert s["_flashes"] == [("danger", message)]
    assert nothing_stored()


def test_without_a_referrer_a_refused_page_request_goes_home(api):
    r = api.get("/fail/conflict")
    assert (r.status_code, r.headers["Location"]) == (303, "/")
