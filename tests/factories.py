"""Factories for tests: plain functions over the services, so that test data obeys the
same rules as real data (factory_boy would bypass them)."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from eldercare.auth.services import create_user, issue_token
from eldercare.extensions import db
from eldercare.idnumbers import make_number
from eldercare.people import services as people

PASSWORD = "Test-pass-2026"
_seq = itertools.count(1)


def new_id_number(birth: date = date(1945, 3, 12), sex: str = "M", division: str = "510704") -> str:
    n = next(_seq)
    seq = (n * 2 + (1 if sex == "M" else 0)) % 1000
    if (seq % 2 == 1) != (sex == "M"):
        seq = (seq + 1) % 1000
    return make_number(division, birth, seq or (1 if sex == "M" else 2))


def user(role: str = "admin", **kw):
    name = kw.pop("username", f"{role}{next(_seq)}")
    u = create_user(name, PASSWORD, role, **kw)
    db.session.commit()
    return u


def person(name: str = "张三", birth: date = date(1945, 3, 12), sex: str = "M", **kw):
    data = people.PersonInput(
        name=name, id_number=kw.pop("id_number", None) or new_id_number(birth, sex), **kw
    )
    p = people.create_person(data)
    db.session.commit()
    return p


def headers(u) -> dict:
    return {"Authorization": f"Bearer {issue_token(u).token}"}


def login(client, u, password: str = PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    resp = client.post(
        "/login", data={"username": u.username, "password": password, "csrf_token": token}
    )
    assert resp.status_code == 302, resp.text
    return client


def csrf(client, path: str = "/") -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


@pytest.fixture
def make_user(app):
    return user


@pytest.fixture
def make_person(app):
    return person


@pytest.fixture
def admin(app):
    return user("admin", username="admin")


@pytest.fixture
def admin_headers(admin):
    return headers(admin)


def scoped_user(client, role: str, admin=None):
    """A user of any role with a real scope: the facility or provider is made through the
    API (as the bureau would), so that the core's tests need no feature's internals."""
    admin = admin or user("admin")
    h = headers(admin)
    scope = {}
    if role == "manager":
        fac = client.post(
            "/api/v1/facilities",
            headers=h,
            json={"name": f"测试敬老院{next(_seq)}", "kind": "care_home"},
        )
        assert fac.status_code == 201, fac.text
        scope = {"facility_id": fac.json["id"]}
    elif role in ("provider", "worker"):
        prov = client.post(
            "/api/v1/homecare/providers",
            headers=h,
            json={"name": f"测试服务中心{next(_seq)}", "townships": []},
        )
        assert prov.status_code == 201, prov.text
        scope = {"provider_id": prov.json["id"]}
    return user(role, **scope)
