"""Home-care applications (GB/T 43153-2023): eligibility by the year's rules (each match
shown), the needs assessment, a plan priced against the year's subsidy, the decision —
a place or the waiting list ranked by need — and the agreement that enrols."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare.models import Enrolment
from intake.care import months_left
from tests import factories as f

from .helpers import SHIMA, XINQIAO, applicant, assessment, clerk, days_ago, receive, step


def _rules(client, h, places: int | None = None, rules: list | None = None):
    body = {
        "rules": rules
        if rules is not None
        else [
            {"code": "age80", "label": "80周岁以上高龄老人", "min_age": 80},
            {
                "code": "dibao60",
                "label": "60周岁以上低保对象",
                "min_age": 60,
                "categories": ["dibao"],
            },
            {
                "code": "fullcare60",
                "label": "60周岁以上失能老人",
                "min_age": 60,
                "care_levels": ["full"],
            },
        ]
    }
    if places is not None:
        body["places"] = places
    resp = client.put("/api/v1/homecare/eligibility-rules", headers=h, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json


def _provider(client, h, townships=(SHIMA,), name="石马居家养老服务中心"):
    resp = client.post(
        "/api/v1/homecare/providers", headers=h, json={"name": name, "townships": list(townships)}
    )
    assert resp.status_code == 201, resp.text
    return resp.json["id"]


def _checked(client, th, person, failed=0, alone=None, on=None):
    app = receive(client, th, person, kind="homecare", on=on or days_ago(12))
    body = {
        "assessment": assessment(failed),
        "on": days_ago(10).isoformat(),
        "services": ["meal", "clean"],
    }
    if alone is not None:
        body["lives_alone"] = alone
    return step(client, th, app["id"], "check", body)


def _planned(client, th, person, failed=0, alone=None):
    app = _checked(client, th, person, failed, alone)
    return step(
        client,
        th,
        app["id"],
        "plan",
        {"lines": [{"code": "meal", "per_month": "4"}], "on": days_ago(8).isoformat()},
    )


def test_eligibility_shows_each_rule_that_matched(client, admin_headers):
    _rules(client, admin_headers)
    th = f.headers(clerk())
    old = applicant("高龄老人", age=86, categories=("dibao",))
    app = _checked(client, th, old, failed=4)
    assert app["status"] == "checked" and app["care_level"] == "full"
    codes = [r["code"] for r in app["eligibility"]["rules"]]
    assert app["eligibility"]["eligible"] and codes == ["age80", "dibao60", "fullcare60"]
    assert app["services_wanted"] == ["meal", "clean"]
    assert app["need"]["score"] == 40 + 10 + 10
    assert "六项自理能力中 4 项需要帮助（全护理）+40" in app["need"]["reasons"]

    young = applicant("刚满六十", age=61)
    early = receive(client, th, young, kind="homecare")
    assert (
        step(client, admin_headers, early["id"], "decide", {"approved": True}, 409)["error"]["code"]
        == "out_of_order"
    )
    step(client, th, early["id"], "withdraw", {"reason": "重新申请"})
    no = _checked(client, th, young)
    assert no["eligibility"] == {"eligible": False, "rules": []}
    step(client, th, no["id"], "plan", {"lines": [{"code": "meal", "per_month": 2}]})
    refused = step(client, admin_headers, no["id"], "decide", {"approved": True}, 409)
    assert refused["error"]["code"] == "not_eligible"
    done = step(
        client,
        admin_headers,
        no["id"],
        "decide",
        {"approved": False, "reasons": "不符合本年度任何一条资格条件"},
    )
    assert done["status"] == "refused"


def test_the_plan_is_priced_against_the_years_subsidy(client, admin_headers):
    _rules(client, admin_headers)
    th = f.headers(clerk())
    app = _checked(client, th, applicant(age=85))
    planned = step(
        client,
        th,
        app["id"],
        "plan",
        {"lines": [{"code": "meal", "per_month": "4"}, {"code": "CLEAN", "per_month": "1.5"}]},
    )
    months = months_left(local_today().year, local_today())
    meal = Decimal("30.00") * 4 * months
    clean = Decimal("40.00") * Decimal("1.5") * months
    plan = planned["plan"]
    assert [line["code"] for line in plan["lines"]] == ["meal", "clean"]
    assert plan["total"] == f"{meal + clean:.2f}"
    assert plan["subsidy"] == f"{min(meal + clean, Decimal('300')):.2f}"
    assert plan["self_paid"] == f"{max(Decimal('0'), meal + clean - 300):.2f}"
    step(client, th, app["id"], "plan", {"lines": [{"code": "meal", "per_month": 1}]}, 409)
    bad = _checked(client, th, applicant("另一位", age=88))
    err = step(client, th, bad["id"], "plan", {"lines": [{"code": "massage", "per_month": 1}]}, 422)
    assert "lines.0.code" in err["error"]["fields"]


def test_a_place_then_the_agreement_enrols_with_a_provider_of_the_township(client, admin_headers):
    _rules(client, admin_headers, places=10)
    elsewhere = _provider(client, admin_headers, (XINQIAO,), "新桥服务中心")
    ours = _provider(client, admin_headers)
    th = f.headers(clerk())
    p = applicant(age=85)
    app = _planned(client, th, p)
    step(client, admin_headers, app["id"], "enrol", {"provider_id": ours}, 409)  # not decided
    approved = step(client, admin_headers, app["id"], "decide", {"approved": True})
    assert approved["status"] == "approved" and approved["due"] is not None
    wrong = step(client, admin_headers, app["id"], "enrol", {"provider_id": elsewhere}, 422)
    assert "provider_id" in wrong["error"]["fields"]
    step(client, th, app["id"], "enrol", {"provider_id": ours}, 403)  # the bureau signs
    done = step(client, admin_headers, app["id"], "enrol", {"provider_id": ours})
    assert done["status"] == "approved" and done["enrolment_id"] and done["due"] is None
    enrolment = db.session.get(Enrolment, done["enrolment_id"])
    assert enrolment.person_id == p.id and enrolment.provider_id == ours
    assert enrolment.balance == Decimal("300.00")
    step(client, admin_headers, app["id"], "enrol", {"provider_id": ours}, 409)


def test_when_the_places_are_full_applicants_wait_ranked_by_need(client, admin_headers):
    _rules(client, admin_headers, places=1)
    th = f.headers(clerk())
    first = _planned(client, th, applicant("第一位", age=85))
    step(client, admin_headers, first["id"], "decide", {"approved": True})
    light = _planned(client, th, applicant("较轻", age=84))
    heavy = _planned(client, th, applicant("较重", age=91, categories=("dibao",)), failed=5)
    for a in (light, heavy):
        waiting = step(client, admin_headers, a["id"], "decide", {"approved": True})
        assert waiting["status"] == "waiting" and waiting["waiting_since"]
    listed = client.get("/api/v1/homecare/waiting-list", headers=admin_headers).json
    assert listed["places"] == 1 and listed["taken"] == 1 and listed["total"] == 2
    top, second = listed["items"]
    assert (top["rank"], top["application_id"]) == (1, heavy["id"])
    assert top["score"] == 50 + 20 + 10 and second["score"] == 10
    assert "90周岁以上 +20" in top["reasons"] and "低保对象 +10" in top["reasons"]
    assert any(r.startswith("轮候 ") for r in top["reasons"])
    # no place free: giving one is a conflict; freed by a withdrawal, the top one gets it
    full = step(client, admin_headers, heavy["id"], "decide", {"approved": True}, 409)
    assert full["error"]["code"] == "places_full"
    step(client, th, first["id"], "withdraw", {"reason": "入住养老机构"})
    placed = step(client, admin_headers, heavy["id"], "decide", {"approved": True})
    assert placed["status"] == "approved"
    assert [s["step"] for s in placed["steps"]][-1] == "place"
    assert client.get("/api/v1/homecare/waiting-list", headers=admin_headers).json["total"] == 1


def test_rules_and_places_are_set_per_year(client, admin_headers):
    year = local_today().year
    set_now = _rules(
        client,
        admin_headers,
        places=11000,
        rules=[{"code": "age75", "label": "75周岁以上", "min_age": 75}],
    )
    assert set_now["year"] == year and [r["code"] for r in set_now["rules"]] == ["age75"]
    nxt = client.get(
        f"/api/v1/homecare/eligibility-rules?year={year + 1}", headers=admin_headers
    ).json
    assert nxt["inherited_from"] == year and nxt["places"] == 11000
    bad = client.put(
        "/api/v1/homecare/eligibility-rules",
        headers=admin_headers,
        json={"rules": [{"code": "x", "label": "x", "categories": ["rich"]}]},
    )
    assert bad.status_code == 422 and "rules.0.categories" in bad.json["error"]["fields"]
    th = f.headers(clerk())
    assert (
        client.put("/api/v1/homecare/eligibility-rules", headers=th, json={"rules": []}).status_code
        == 403
    )
    assert client.get("/api/v1/homecare/eligibility-rules", headers=th).status_code == 200


def test_an_enrolled_elder_does_not_apply_for_the_same_year(client, admin_headers):
    pid = _provider(client, admin_headers)
    p = applicant(age=85)
    resp = client.post(
        "/api/v1/homecare/enrolments",
        headers=admin_headers,
        json={"person_id": p.id, "provider_id": pid, "year": local_today().year},
    )
    assert resp.status_code == 201, resp.text
    again = client.post(
        "/api/v1/applications",
        headers=f.headers(clerk()),
        json={"kind": "homecare", "person_id": p.id, "received_on": local_today().isoformat()},
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "already_enrolled"
    assert db.session.scalar(sa.select(sa.func.count(Enrolment.id))) == 1
