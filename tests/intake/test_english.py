"""Issue 17.11 for intake: with the English locale a step refused by the API, its field
errors, an application's page, the waiting list's reasons and the intake alert read in
English; the stored sentences stay Chinese in the rows and on Chinese pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import refresh

from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.timeutil import local_today
from intake.models import Application
from tests import factories as f
from tests.test_english import _data_names, _left_in_english

from .helpers import applicant, assessment, clerk, days_ago, receive, step, tekun_to_notice

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# what the clerks typed: data, as the names are
TYPED = ["入户调查：无收入，无赡养人", "有法定赡养人且具备赡养能力"]


def _english(client) -> None:
    refresh()  # a job or a request of the test may have cached the Chinese catalogue
    client.set_cookie("lang", "en")


def _waiting(client, admin_headers, th):
    """A home-care applicant aged 86 needing full care, assessed, planned, and put on the
    waiting list because the year has no place left (the default rules, seeded)."""
    resp = client.put(
        "/api/v1/homecare/eligibility-rules", headers=admin_headers, json={"rules": [], "places": 0}
    )
    assert resp.status_code == 200, resp.text
    client.put(
        "/api/v1/homecare/eligibility-rules",
        headers=admin_headers,
        json={
            "places": 0,
            "rules": [{"code": "age80", "label": "80周岁以上高龄老人", "min_age": 80}],
        },
    )
    person = applicant("孙桂芝", age=86)
    app = receive(client, th, person, kind="homecare", on=days_ago(20))
    step(
        client,
        th,
        app["id"],
        "check",
        {
            "assessment": assessment(4),
            "on": days_ago(18).isoformat(),
            "lives_alone": True,
            "services": ["meal"],
        },
    )
    step(
        client,
        th,
        app["id"],
        "plan",
        {"lines": [{"code": "meal", "per_month": "4"}], "on": days_ago(15).isoformat()},
    )
    done = step(
        client,
        admin_headers,
        app["id"],
        "decide",
        {"approved": True, "on": days_ago(10).isoformat()},
    )
    assert done["status"] == "waiting"
    return done


def test_a_step_refused_by_the_api_reads_in_english(client, admin_headers):
    user = clerk()
    th = f.headers(user)
    app = receive(client, th, applicant())
    home = receive(client, th, applicant("孙桂芝", age=86), kind="homecare")
    step(client, th, home["id"], "check", {"assessment": assessment(2)})
    _english(client)
    out_of_order = step(client, admin_headers, app["id"], "decide", {"approved": True}, 409)
    assert out_of_order["error"]["code"] == "out_of_order"
    assert out_of_order["error"]["message"] == (
        "The application is “Received”: this step cannot be done now"
    )
    future = step(
        client,
        th,
        app["id"],
        "check",
        {"assessment": assessment(), "on": (local_today() + timedelta(days=1)).isoformat()},
        422,
    )
    assert future["error"]["message"] == "The date cannot be after today"
    assert future["error"]["fields"] == {"on": "Cannot be after today"}
    plan = step(
        client,
        th,
        home["id"],
        "plan",
        {"lines": [{"code": "meal", "per_month": "2"}, {"code": "nosuch", "per_month": "1"}]},
        422,
    )
    assert plan["error"]["message"] == "Line 2: unknown service nosuch"
    assert plan["error"]["fields"] == {"lines.1.code": "Unknown code"}
    malformed = step(client, th, app["id"], "check", {"assessment": {"eating": True}}, 422)
    assert malformed["error"]["message"] == "Invalid input"
    again = client.post(
        "/api/v1/applications", headers=th, json={"kind": "tekun", "person_id": app["person_id"]}
    )
    assert again.status_code == 409
    assert again.json["error"]["message"] == (
        f"This person has an open application already (#{app['id']})"
    )
    for body in (out_of_order, future, plan, malformed, again.json):
        assert not HAN.search(str(body["error"])), body

    client.set_cookie("lang", "zh")  # the other side: Chinese stays the default
    refresh()
    zh = step(
        client, th, home["id"], "plan", {"lines": [{"code": "nosuch", "per_month": "1"}]}, 422
    )
    assert zh["error"]["message"] == "第 1 项：未知的服务项目 nosuch"
    assert zh["error"]["fields"] == {"lines.0.code": "未知代码"}


def test_the_waiting_list_and_the_application_page_read_in_english(client, admin_headers):
    user = clerk()
    th = f.headers(user)
    waiting = _waiting(client, admin_headers, th)
    row = db.session.get(Application, waiting["id"])
    # stored in the source language: a row reads the same whoever wrote it
    assert "六项自理能力中 4 项需要帮助（全护理）+40" in row.need_reasons
    _english(client)
    api = client.get(f"/api/v1/homecare/waiting-list?year={row.year}", headers=admin_headers)
    reasons = api.json["items"][0]["reasons"]
    assert reasons[:3] == [
        "Needs help with 4 of the six self-care items (Full care) +40",
        "Aged 80 and over +10",
        "Living alone +10",
    ]
    assert reasons[3] == f"Waiting 10 days (since {days_ago(10).isoformat()})"

    f.login(client, user)
    page = client.get("/homecare/waiting-list")
    assert page.status_code == 200
    assert "Needs help with 4 of the six self-care items (Full care) +40" in page.text
    assert "Waiting 10 days" in page.text
    shown = client.get(f"/applications/{row.id}")
    assert "Elders aged 80 and over" in shown.text  # the matched rule's label
    assert "Places all taken (0)" in shown.text  # the decision's note, as stored
    exported = client.get("/homecare/waiting-list?format=csv")
    header = next(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert header == ["Rank", "Name", "Township/street", "Need score", "Reasons", "Days waiting"]

    client.set_cookie("lang", "zh")
    refresh()
    zh = client.get("/homecare/waiting-list")
    assert "六项自理能力中 4 项需要帮助（全护理）+40" in zh.text and "Waiting" not in zh.text
    exported = client.get("/homecare/waiting-list?format=csv").get_data(as_text=True)
    assert exported.lstrip("\ufeff").startswith("名次,姓名")


def test_the_intake_pages_have_no_chinese_but_data(client, admin_headers):
    """Every intake page, as the bureau and as a township clerk, with an application in
    each step: received, checked, under notice, refused, withdrawn by a death, waiting,
    approved with support from next month; the deadline alert run."""
    user = clerk()
    th = f.headers(user)
    waiting = _waiting(client, admin_headers, th)
    noticed = tekun_to_notice(client, th, applicant("周文华", age=70))
    decided = tekun_to_notice(
        client, th, applicant("吴志强", age=72), received=40, checked=35, noticed=30
    )
    step(
        client,
        admin_headers,
        decided["id"],
        "decide",
        {"approved": True, "on": days_ago(20).isoformat()},
    )
    refused = tekun_to_notice(
        client, th, applicant("陈秀兰", age=66), received=40, checked=35, noticed=30
    )
    step(
        client,
        admin_headers,
        refused["id"],
        "decide",
        {"approved": False, "reasons": TYPED[1], "on": days_ago(20).isoformat()},
    )
    late = receive(client, th, applicant("郑红梅", age=68), on=days_ago(60))
    gone = applicant("冯国庆", age=90)
    receive(client, th, gone, on=days_ago(5))
    died = client.post(
        f"/api/v1/people/{gone.id}/death",
        headers=admin_headers,
        json={"date": days_ago(1).isoformat()},
    )
    assert died.status_code == 200, died.text
    run_job("alerts")
    data = _data_names() + TYPED
    pages = [
        "/",
        "/applications",
        "/applications?overdue=1",
        "/applications/new",
        "/applications/notices",
        "/homecare/waiting-list",
        *(
            f"/applications/{i}"
            for i in (waiting["id"], noticed["id"], decided["id"], refused["id"], late["id"])
        ),
        *(
            f"/applications/{a.id}"
            for a in db.session.scalars(
                sa.select(Application).where(Application.person_id == gone.id)
            )
        ),
        f"/people/{noticed['person_id']}",
    ]
    left = []
    _english(client)
    f.login(client, user)
    home = client.get("/")
    assert "applications of your township past their deadline" in home.text  # the alert
    for path in pages:
        left += _left_in_english(client, path, data)
    client.post("/logout", data={"csrf_token": f.csrf(client)})
    admin = f.user("admin", username="bureau_en")
    f.login(client, admin)
    assert "applications past their deadline" in client.get("/").text
    for path in [*pages, "/applications/figures", "/homecare/eligibility"]:
        left += _left_in_english(client, path, data)
    assert left == [], "Chinese left on English intake pages:\n" + "\n".join(left)


def test_what_accepting_an_entrant_starts_reads_in_english(client, admin_headers):
    """The sentence intake gives dynamic management for an entrants' list proposal."""
    from tests.dynamic.helpers import csv_bytes, upload

    poor = applicant("低保老人", age=72)
    resp = upload(
        client,
        admin_headers,
        "dibao",
        csv_bytes([[poor.id_number, poor.name, days_ago(3).isoformat()]]),
    )
    assert resp.status_code == 201, resp.text
    _english(client)
    proposals = client.get(
        f"/api/v1/comparisons/{resp.json['id']}/proposals", headers=admin_headers
    ).json["items"]
    assert (
        "Receive a tekun support application and pass it to the township for the home "
        "visit and check"
    ) in proposals[0]["effects"]
