"""特困 termination (art. 24, payment from the following month, the 7-day notice) and
the review (six-item assessment → care level, next due date, alerts)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from dynamic import wubao
from dynamic.models import Review, Termination
from eldercare import selfcare
from eldercare.extensions import db
from eldercare.jobs import run_alerts
from eldercare.models import Alert, Person, WubaoSupport
from eldercare.people import services as people
from eldercare.timeutil import local_today
from tests import factories as f

from .helpers import days_ago, scoped_user, tekun

ALL_ABLE = dict.fromkeys(wubao.ASSESSMENT_ITEMS, True)


def failing(n: int) -> dict:
    return {k: i >= n for i, k in enumerate(wubao.ASSESSMENT_ITEMS)}


@pytest.mark.parametrize(
    ("failed", "level"),
    [
        (0, "self"),
        (1, "partial"),
        (2, "partial"),
        (3, "partial"),
        (4, "full"),
        (5, "full"),
        (6, "full"),
    ],
)
def test_six_items_give_the_care_level(app, failed, level):
    assert selfcare.care_level_of(failing(failed)) == level


def test_an_incomplete_assessment_is_invalid(app):
    from eldercare.errors import Invalid

    with pytest.raises(Invalid) as exc:
        selfcare.care_level_of({"eating": True})
    assert "bathing" in exc.value.fields


@pytest.mark.parametrize(
    ("effective", "last_paid"),
    [
        (date(2026, 11, 10), date(2026, 11, 30)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2024, 2, 29), date(2024, 2, 29)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ],
)
def test_payment_stops_from_the_following_month(effective, last_paid):
    assert wubao.payment_end(effective) == last_paid


def test_the_assessment_sets_care_level_and_next_due(client, admin_headers):
    p = tekun("王德福")
    on = days_ago(1)
    resp = client.post(
        f"/api/v1/people/{p.id}/reviews",
        headers=admin_headers,
        json={"date": on.isoformat(), "assessment": failing(4), "outcome": "continue"},
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["care_level"] == "full" and resp.json["trigger"] == "annual"
    assert resp.json["next_due"] == wubao.next_review_due(on).isoformat()
    db.session.expire_all()
    assert db.session.get(Person, p.id).care_level == "full"


def test_a_review_may_end_support_for_an_art_24_reason(client, admin_headers):
    p = tekun("王德福", support="dispersed")
    on = days_ago(2)
    missing_reason = client.post(
        f"/api/v1/people/{p.id}/reviews",
        headers=admin_headers,
        json={"date": on.isoformat(), "assessment": ALL_ABLE, "outcome": "terminate"},
    )
    assert missing_reason.status_code == 422 and "reason" in missing_reason.json["error"]["fields"]
    resp = client.post(
        f"/api/v1/people/{p.id}/reviews",
        headers=admin_headers,
        json={
            "date": on.isoformat(),
            "assessment": ALL_ABLE,
            "outcome": "terminate",
            "reason": "work_ability",
        },
    )
    assert resp.status_code == 201
    db.session.expire_all()
    t = db.session.scalar(sa.select(Termination))
    assert t.reason == "work_ability" and t.source == "review"
    assert t.payment_end == wubao.month_end(on)
    assert t.notice_until == t.decided_on + timedelta(days=6)
    person = db.session.get(Person, p.id)
    assert person.current_support is None and "tekun" not in person.category_set
    again = client.post(
        f"/api/v1/people/{p.id}/reviews",
        headers=admin_headers,
        json={"date": on.isoformat(), "assessment": ALL_ABLE, "outcome": "continue"},
    )
    assert again.status_code == 409


def test_terminate_through_the_api(client, admin_headers, make_user):
    p = tekun("王德福")
    body = {"date": days_ago(1).isoformat(), "reason": "imprisoned"}
    auditor = f.headers(make_user("auditor"))
    assert (
        client.post(
            f"/api/v1/people/{p.id}/wubao/terminate", json=body, headers=auditor
        ).status_code
        == 403
    )
    resp = client.post(f"/api/v1/people/{p.id}/wubao/terminate", json=body, headers=admin_headers)
    assert resp.status_code == 201 and resp.json["reason"] == "imprisoned"
    assert "id_number" not in resp.json
    assert (
        client.post(
            f"/api/v1/people/{p.id}/wubao/terminate", json=body, headers=admin_headers
        ).status_code
        == 409
    )
    bad = client.post(
        f"/api/v1/people/{p.id}/wubao/terminate",
        json=body | {"reason": "death"},
        headers=admin_headers,
    )
    assert bad.status_code == 422
    listed = client.get("/api/v1/terminations", headers=auditor).json
    assert listed["total"] == 1 and "id_number" not in listed["items"][0]


def test_a_death_recorded_anywhere_is_terminated_with_its_notice(app):
    p = tekun("王德福")
    people.record_death(p, days_ago(3))
    db.session.commit()
    t = db.session.scalar(sa.select(Termination))
    assert t.reason == "death" and t.source == "death" and t.effective_on == days_ago(3)


def test_the_notice_lists_terminations_per_township_without_id_numbers(client, admin):
    a = tekun("王德福", township="510704101")
    b = tekun("李秀英", sex="F", township="510704104")
    wubao.terminate(a, "voluntary", days_ago(1))
    wubao.terminate(b, "supporter_able", days_ago(1))
    db.session.commit()
    f.login(client, admin)
    page = client.get("/notices")
    assert page.status_code == 200
    assert page.text.count('data-testid="notice"') == 2
    assert "王德福" in page.text and "李秀英" in page.text
    assert "自愿申请退出" in page.text and "css/notice.css" in page.text
    for number in (a.id_number, b.id_number):
        assert number not in page.text and number[-4:] not in page.text
        assert number[:6] + "*" not in page.text
    one = client.get("/notices?township=510704104")
    assert "李秀英" in one.text and "王德福" not in one.text
    later = client.get(f"/notices?day={(local_today() + timedelta(days=7)).isoformat()}")
    assert "王德福" not in later.text


def test_the_review_form_sets_the_care_level(client, admin):
    p = tekun("王德福")
    f.login(client, admin)
    token = f.csrf(client, f"/reviews/{p.id}")
    data = {"csrf_token": token, "date": days_ago(0).isoformat(), "outcome": "continue"}
    data |= {k: ("0" if i < 2 else "1") for i, k in enumerate(wubao.ASSESSMENT_ITEMS)}
    incomplete = client.post(f"/reviews/{p.id}", data={**data, "bathing": ""})
    assert incomplete.status_code == 422
    resp = client.post(f"/reviews/{p.id}", data=data)
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Person, p.id).care_level == "partial"
    assert db.session.scalar(sa.select(Review.care_level)) == "partial"


def test_reviews_due_and_overdue_per_township_and_the_alert(client, admin_headers):
    late = tekun("甲", township="510704101")
    soon = tekun("乙", township="510704104")
    for person, due in ((late, days_ago(40)), (soon, local_today() + timedelta(days=10))):
        s = db.session.scalar(sa.select(WubaoSupport).where(WubaoSupport.person_id == person.id))
        s.review_due = due
    db.session.commit()
    overdue = client.get("/api/v1/reviews?kind=overdue", headers=admin_headers).json
    assert [i["person_id"] for i in overdue["items"]] == [late.id]
    due = client.get("/api/v1/reviews?kind=due", headers=admin_headers).json
    assert [i["person_id"] for i in due["items"]] == [soon.id]
    counts = wubao.review_counts(local_today())
    assert counts["510704101"]["overdue"] == 1 and counts["510704104"]["due"] == 1
    run_alerts(local_today().isoformat())
    db.session.commit()
    alerts = db.session.scalars(sa.select(Alert).where(Alert.kind == "review_overdue")).all()
    assert len(alerts) == 1 and alerts[0].count == 1 and alerts[0].role == "admin"
    assert "510704101" in alerts[0].link
    soon_alert = db.session.scalar(sa.select(Alert).where(Alert.kind == "review_due"))
    assert soon_alert.count == 1


def test_many_alerts_of_one_kind_fold_on_the_dashboard(client, admin):
    """One overdue-review alert per township would fill the bureau's dashboard: five fold
    under their first line, a single other alert stays a line of its own."""
    for i, township in enumerate(("510704001", "510704003", "510704101", "510704104", "510704106")):
        p = tekun(f"逾{i}", township=township)
        db.session.scalar(
            sa.select(WubaoSupport).where(WubaoSupport.person_id == p.id)
        ).review_due = days_ago(40)
    p = tekun("近", township="510704112")
    db.session.scalar(sa.select(WubaoSupport).where(WubaoSupport.person_id == p.id)).review_due = (
        local_today() + timedelta(days=10)
    )
    db.session.commit()
    run_alerts(local_today().isoformat())
    db.session.commit()
    f.login(client, admin)
    page = client.get("/").text
    assert page.count('data-testid="alert-group"') == 1
    assert "等 5 条" in page and page.count("年度复核已逾期") == 6  # summary + 5 lines
    group = page[page.index('data-testid="alert-group"') :]
    assert "将在30天内到期" not in group[: group.index("</details>")]  # the due one apart
    assert "将在30天内到期" in page


def test_a_support_without_a_due_date_is_overdue(client, admin_headers):
    p = tekun("王德福")
    s = db.session.scalar(sa.select(WubaoSupport).where(WubaoSupport.person_id == p.id))
    s.review_due = None
    db.session.commit()
    overdue = client.get("/api/v1/reviews?kind=overdue", headers=admin_headers).json
    assert [i["person_id"] for i in overdue["items"]] == [p.id]
    assert wubao.review_counts(local_today())["510704101"]["overdue"] == 1


def test_reviews_are_refused_to_other_roles(client, admin_headers):
    p = tekun("王德福")
    h = f.headers(scoped_user(client, admin_headers, "provider"))
    assert client.get("/api/v1/reviews", headers=h).status_code == 403
    assert (
        client.post(
            f"/api/v1/people/{p.id}/reviews",
            headers=h,
            json={"date": days_ago(0).isoformat(), "assessment": ALL_ABLE, "outcome": "continue"},
        ).status_code
        == 403
    )


def test_timeliness_figures_per_source_and_township(client, admin_headers):
    from .helpers import csv_bytes, upload

    a = tekun("王德福", township="510704101")
    b = tekun("李秀英", sex="F", support="dispersed", township="510704104")
    direct = tekun("张三", township="510704104")
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes(
            [
                [a.id_number, "王德福", days_ago(40).isoformat()],
                [b.id_number, "李秀英", days_ago(10).isoformat()],
            ]
        ),
        source="区公安分局",
    ).json
    for item in client.get(
        f"/api/v1/comparisons/{comp['id']}/proposals", headers=admin_headers
    ).json["items"]:
        client.post(f"/api/v1/proposals/{item['id']}/accept", headers=admin_headers)
    client.post(
        f"/api/v1/people/{direct.id}/death",
        json={"date": days_ago(5).isoformat()},
        headers=admin_headers,
    )
    fig = client.get("/api/v1/dynamic/figures", headers=admin_headers).json
    assert fig["deaths"]["deaths"] == 3
    sources = {s["source"]: s for s in fig["deaths"]["by_source"]}
    assert sources["区公安分局"]["deaths"] == 2 and sources["区公安分局"]["max_days"] == 40
    assert sources["直接登记"]["deaths"] == 1 and sources["直接登记"]["avg_days"] == 5
    towns = {t["township_code"]: t for t in fig["deaths"]["by_township"]}
    assert towns["510704104"]["deaths"] == 2
    avoided = fig["avoided"]
    assert avoided["exits"] == 2
    assert avoided["bed_days"] > 0  # the centralised person's bed, freed before the review
    assert avoided["tekun_payments"].endswith(".00") and "basis" in avoided


@pytest.mark.parametrize(
    "query",
    ["until=2024-02-29", "until=0001-01-01", "since=9999-12-31", "until=9999-12-31", "since=x"],
)
def test_odd_dates_in_the_figures_query_are_answered_not_500(client, admin_headers, query):
    resp = client.get(f"/api/v1/dynamic/figures?{query}", headers=admin_headers)
    assert resp.status_code in (200, 400)
