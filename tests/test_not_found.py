"""Not found is answered one way everywhere (issue 16, point 6): a service raises
eldercare.errors.NotFound and the core's one handler answers it, the 404 page for pages
and the API's 404 body under /api/. A record outside the user's scope is answered exactly
like one that does not exist, so that the answer never reveals existence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest

from eldercare.extensions import db
from tests import factories as f
from tests.facilities.conftest import make_home
from tests.homecare.conftest import elder, enrol, make_provider

MISSING = 987_654


@dataclass
class World:
    manager: object  # of home A
    provider_boss: object  # of organisation A
    admin: object
    other_home: int
    other_person: int  # in home B's bed: outside the manager's scope
    other_stay: int
    other_enrolment: int  # with organisation B: outside the provider's scope
    other_worker: int  # organisation B's worker account


@pytest.fixture
def world(app) -> World:
    from facilities import services as fs

    home_a, _beds_a = make_home("魏城镇敬老院")
    home_b, beds_b = make_home("石马镇中心敬老院", township="510704101")
    stranger = f.person("李秀英")
    stay = fs.admit(stranger, beds_b[0], date(2024, 1, 1))
    db.session.commit()
    org_a, org_b = make_provider(), make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
    enrolment = enrol(elder("王德福"), org_b)
    worker_b = f.user("worker", provider_id=org_b.id)
    return World(
        manager=f.user("manager", facility_id=home_a.id),
        provider_boss=f.user("provider", provider_id=org_a.id),
        admin=f.user("admin"),
        other_home=home_b.id,
        other_person=stranger.id,
        other_stay=stay.id,
        other_enrolment=enrolment.id,
        other_worker=worker_b.id,
    )


# (who asks, method, path with {id}, the attribute of World naming a record that exists
# but lies outside that user's scope; None where the role sees every record)
API = [
    ("manager", "GET", "/api/v1/people/{id}", "other_person"),
    ("manager", "GET", "/api/v1/facilities/{id}", "other_home"),
    ("manager", "GET", "/api/v1/stays/{id}", "other_stay"),
    ("manager", "POST", "/api/v1/stays/{id}/end", "other_stay"),
    ("provider_boss", "GET", "/api/v1/homecare/enrolments/{id}", "other_enrolment"),
    ("provider_boss", "POST", "/api/v1/users/{id}/reset-password", "other_worker"),
    ("admin", "GET", "/api/v1/homecare/claims/{id}", None),
    ("admin", "GET", "/api/v1/comparisons/{id}", None),
    ("admin", "POST", "/api/v1/proposals/{id}/accept", None),
]
PAGES = [
    ("manager", "GET", "/people/{id}", "other_person"),
    ("admin", "GET", "/people/import/{id}", None),
    ("manager", "GET", "/facilities/{id}", "other_home"),
    ("manager", "POST", "/stays/{id}/end", "other_stay"),
    ("provider_boss", "GET", "/homecare/enrolments/{id}", "other_enrolment"),
    ("provider_boss", "POST", "/users/{id}/disable", "other_worker"),
    ("admin", "GET", "/homecare/claims/{id}", None),
    ("admin", "POST", "/homecare/callbacks/{id}", None),
    ("admin", "GET", "/comparisons/{id}", None),
    ("admin", "POST", "/proposals/{id}/accept", None),
]


@pytest.mark.parametrize(("who", "method", "path", "outside"), API)
def test_the_api_answers_a_missing_and_an_unseen_record_alike(
    client, world, who, method, path, outside
):
    headers = f.headers(getattr(world, who))
    body = {"date": date.today().isoformat(), "reason": "discharged"} if method == "POST" else None
    missing = client.open(path.format(id=MISSING), method=method, headers=headers, json=body)
    assert missing.status_code == 404, missing.text
    assert missing.json["error"]["code"] == "not_found"
    if outside is not None:
        unseen = client.open(
            path.format(id=getattr(world, outside)), method=method, headers=headers, json=body
        )
        assert unseen.status_code == 404
        assert unseen.json == missing.json  # not a word more
    assert set(missing.json) == {"error"} and set(missing.json["error"]) == {"code", "message"}


def _page_text(resp) -> str:
    return re.sub(r'value="[^"]*"', "", resp.text)  # CSRF tokens differ from page to page


@pytest.mark.parametrize(("who", "method", "path", "outside"), PAGES)
def test_a_page_answers_a_missing_and_an_unseen_record_with_the_404_page(
    client, world, who, method, path, outside
):
    f.login(client, getattr(world, who))
    data = {"csrf_token": f.csrf(client), "date": date.today().isoformat(), "reason": "discharged"}
    missing = client.open(
        path.format(id=MISSING), method=method, data=data if method == "POST" else None
    )
    assert missing.status_code == 404, missing.text  # a page, never a redirect with a flash
    assert "页面或记录不存在" in missing.text
    if outside is not None:
        unseen = client.open(
            path.format(id=getattr(world, outside)),
            method=method,
            data=data if method == "POST" else None,
        )
        assert unseen.status_code == 404
        assert _page_text(unseen) == _page_text(missing)


def test_nothing_was_changed_by_the_refused_writes(client, world):
    """The POSTs above were refused before they touched anything."""
    from eldercare.models import User
    from facilities.models import Stay

    f.login(client, world.manager)
    client.post(
        f"/stays/{world.other_stay}/end",
        data={
            "csrf_token": f.csrf(client),
            "date": date.today().isoformat(),
            "reason": "discharged",
        },
    )
    assert db.session.get(Stay, world.other_stay).end_date is None
    client.post(
        f"/api/v1/users/{world.other_worker}/reset-password", headers=f.headers(world.provider_boss)
    )
    assert db.session.get(User, world.other_worker).active
