"""Helpers of the intake tests: a township clerk, applicants, an application moved to a
given step through the API (as the township and the bureau would)."""

from __future__ import annotations

from datetime import date, timedelta

from eldercare.timeutil import local_today
from tests import factories as f

SHIMA, XINQIAO = "510704101", "510704102"  # 石马镇, 新桥镇
ABLE = {
    "eating": True,
    "dressing": True,
    "transfer": True,
    "toileting": True,
    "walking": True,
    "bathing": True,
}


def days_ago(n: int) -> date:
    return local_today() - timedelta(days=n)


def clerk(township: str = SHIMA):
    return f.user("township", township_code=township)


def applicant(name: str = "王德福", township: str = SHIMA, age: int = 75, **kw):
    today = local_today()
    return f.person(name, birth=date(today.year - age, 3, 12), township_code=township, **kw)


def assessment(failed: int = 0) -> dict:
    """The six items, the first `failed` of them needing help."""
    items = list(ABLE)
    return {k: i >= failed for i, k in enumerate(items)}


def receive(client, h, person, kind: str = "tekun", on: date | None = None, **body):
    resp = client.post(
        "/api/v1/applications",
        headers=h,
        json={
            "kind": kind,
            "person_id": person.id,
            "received_on": (on or local_today()).isoformat(),
            **body,
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json


def step(client, h, app_id: int, name: str, body: dict, status: int = 200):
    resp = client.post(f"/api/v1/applications/{app_id}/{name}", headers=h, json=body)
    assert resp.status_code == status, resp.text
    return resp.json


def tekun_to_notice(
    client,
    h,
    person,
    received: int = 30,
    checked: int = 25,
    noticed: int = 23,
    failed: int = 2,
    **body,
) -> dict:
    """A 特困 application received, checked and noticed `n` days ago."""
    app = receive(client, h, person, on=days_ago(received), **body)
    step(
        client,
        h,
        app["id"],
        "check",
        {
            "assessment": assessment(failed),
            "on": days_ago(checked).isoformat(),
            "note": "入户调查：无收入，无赡养人",
        },
    )
    return step(client, h, app["id"], "notice", {"from": days_ago(noticed).isoformat()})
