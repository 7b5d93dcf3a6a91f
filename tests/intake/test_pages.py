"""The pages: each step a form for the role that does it, errors under their fields with
what was typed kept, lists filtered and exported, notices printable without ID numbers."""

from __future__ import annotations

import re

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from intake.models import Application
from tests import factories as f

from .helpers import SHIMA, applicant, clerk, days_ago, receive, tekun_to_notice


def _form(client, path: str) -> str:
    return f.csrf(client, path)


def test_the_clerk_receives_and_checks_through_the_pages(client):
    town = clerk()
    f.login(client, town)
    page = client.get("/applications/new")
    assert page.status_code == 200 and "石马镇" in page.text
    token = _form(client, "/applications/new")
    number = f.new_id_number()
    resp = client.post(
        "/applications/new",
        data={
            "csrf_token": token,
            "kind": "tekun",
            "id_number": number,
            "name": "孙新来",
            "township_code": SHIMA,
            "village_code": "",
            "received_on": days_ago(2).isoformat(),
            "support": "centralized",
            "address": "5组8号",
        },
    )
    assert resp.status_code == 303, resp.text
    app = db.session.scalar(sa.select(Application))
    assert app.person.name == "孙新来" and app.support_wanted == "centralized"
    shown = client.get(resp.headers["Location"])
    assert "入户调查核实与六项自理能力评估" in shown.text and "时限" in shown.text
    # a missing item stays under its field, the rest kept
    token = _form(client, f"/applications/{app.id}")
    items = {"eating": "1", "dressing": "0", "transfer": "1", "toileting": "1", "walking": "0"}
    bad = client.post(
        f"/applications/{app.id}/check",
        data={"csrf_token": token, "on": local_today().isoformat(), **items, "note": "无收入"},
    )
    assert bad.status_code == 422 and "无收入" in bad.text
    assert re.search(r"洗澡.*?invalid-feedback", bad.text, re.S)
    good = client.post(
        f"/applications/{app.id}/check",
        data={
            "csrf_token": token,
            "on": local_today().isoformat(),
            **items,
            "bathing": "0",
            "note": "无收入",
        },
    )
    assert good.status_code == 303
    db.session.expire_all()
    assert db.session.get(Application, app.id).care_level.value == "partial"
    future = client.post(
        f"/applications/{app.id}/notice", data={"csrf_token": token, "start": "2999-01-01"}
    )
    assert future.status_code == 422 and "不能晚于今天" in future.text


def test_the_bureau_decides_on_its_page_and_a_refusal_needs_reasons(client, admin_headers):
    app = tekun_to_notice(client, f.headers(clerk()), applicant("周申请"))
    f.login(client, f.user("admin"))
    page = client.get(f"/applications/{app['id']}")
    assert 'data-testid="decide-form"' in page.text
    token = _form(client, f"/applications/{app['id']}")
    bad = client.post(
        f"/applications/{app['id']}/decide",
        data={"csrf_token": token, "on": local_today().isoformat(), "approved": "0", "reasons": ""},
    )
    assert bad.status_code == 422 and "不能为空" in bad.text
    ok = client.post(
        f"/applications/{app['id']}/decide",
        data={
            "csrf_token": token,
            "on": local_today().isoformat(),
            "approved": "0",
            "reasons": "子女有赡养能力",
        },
    )
    assert ok.status_code == 303
    shown = client.get(f"/applications/{app['id']}")
    assert "不予确认。理由：子女有赡养能力" in shown.text


def test_the_clerk_has_no_decision_form(client):
    town = clerk()
    app = tekun_to_notice(client, f.headers(town), applicant())
    f.login(client, town)
    page = client.get(f"/applications/{app['id']}")
    assert page.status_code == 200 and 'data-testid="decide-form"' not in page.text
    token = _form(client, f"/applications/{app['id']}")
    assert (
        client.post(
            f"/applications/{app['id']}/decide", data={"csrf_token": token, "approved": "1"}
        ).status_code
        == 403
    )


def test_the_list_filters_and_exports(client):
    town = clerk()
    h = f.headers(town)
    receive(client, h, applicant("逾期甲"), on=days_ago(40))
    receive(client, h, applicant("新到乙"), on=days_ago(1), kind="homecare")
    f.login(client, town)
    late = client.get("/applications?overdue=1")
    assert "逾期甲" in late.text and "新到乙" not in late.text and "已超时" in late.text
    homecare = client.get("/applications?kind=homecare")
    assert "新到乙" in homecare.text and "逾期甲" not in homecare.text
    csv = client.get("/applications?format=csv")
    assert csv.status_code == 200 and "逾期甲" in csv.get_data(as_text=True)
    assert not re.search(r"\d{17}[\dX]", csv.get_data(as_text=True))


def test_the_village_notice_is_printable_without_id_numbers(client):
    town = clerk()
    p = applicant("吴公示")
    tekun_to_notice(client, f.headers(town), p, received=12, checked=8, noticed=2)
    f.login(client, town)
    page = client.get("/applications/notices")
    assert page.status_code == 200 and "吴公示" in page.text and "data-print" in page.text
    assert p.id_number not in page.text
    assert "吴公示" not in client.get(f"/applications/notices?day={days_ago(30)}").text


def test_public_notices_carry_the_applications_masked(client):
    p = applicant("郑公示人")
    tekun_to_notice(client, f.headers(clerk()), p, received=12, checked=8, noticed=2)
    resp = client.get("/public/notices")
    assert resp.status_code == 200
    assert "郑**人" in resp.text and "郑公示人" not in resp.text and "初审" in resp.text
    assert p.id_number not in resp.text


def test_waiting_list_and_rules_pages(client, admin_headers):
    f.login(client, f.user("admin"))
    rules = client.get("/homecare/eligibility")
    assert rules.status_code == 200 and "80周岁以上高龄老人" in rules.text
    token = _form(client, "/homecare/eligibility")
    resp = client.post(
        "/homecare/eligibility",
        data={
            "csrf_token": token,
            "places": "5",
            "code-0": "age85",
            "label-0": "85周岁以上",
            "min_age-0": "85",
            "code-1": "dibao60",
            "label-1": "低保",
            "min_age-1": "60",
            "categories-1": "dibao",
        },
    )
    assert resp.status_code == 303
    got = client.get("/api/v1/homecare/eligibility-rules", headers=admin_headers).json
    assert got["places"] == 5 and [r["code"] for r in got["rules"]] == ["age85", "dibao60"]
    assert got["rules"][1]["categories"] == ["dibao"]
    waiting = client.get("/homecare/waiting-list")
    assert waiting.status_code == 200 and "名额 5" in waiting.text
    assert client.get("/applications/figures").status_code == 200


def test_person_page_shows_applications_and_starts_one(client):
    town = clerk()
    p = applicant("冯页面")
    receive(client, f.headers(town), p)
    f.login(client, town)
    page = client.get(f"/people/{p.id}")
    assert page.status_code == 200 and 'data-testid="intake-person-panel"' in page.text
    assert f"/applications/new?person_id={p.id}" in page.text.replace("&amp;", "&")


def test_the_township_clerks_menu_leads_to_their_desk(client):
    """A township clerk's first page is their applications, and the menu names every
    page of their desk (and no bureau page)."""
    f.login(client, clerk())
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    nav = page.text[page.text.index("<nav") : page.text.index("</nav>")]
    for label in ("受理申请", "居家养老轮候", "认定公示"):
        assert label in nav
    assert "申请统计" not in nav and "居家养老资格条件" not in nav
