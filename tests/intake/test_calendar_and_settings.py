"""Issue 18: deadlines count the holidays and weekends worked (the core's calendar); a
running deadline is counted again when the calendar changes across it, a step done keeps
the deadline it was held to; the home-care step deadlines and the need points are the
year's, set by the bureau (the page and the API), each shown with its source; a township
clerk can change neither."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare import workdays
from eldercare.extensions import db
from eldercare.models import AuditEntry
from intake.models import Application, ApplicationStep
from tests import factories as f

from .helpers import applicant, assessment, clerk, days_ago, receive, step


def test_the_township_check_runs_fifteen_working_days_across_national_day(client):
    th = f.headers(clerk())
    app = receive(client, th, applicant(), on=date(2026, 9, 28))
    # Mon-Fri alone would say 19 October; 1-7 October are off and Saturday 10 October worked
    assert app["due"] == "2026-10-23"


def test_a_running_deadline_moves_with_the_calendar_and_a_done_step_keeps_its_own(
    client, admin_headers
):
    th = f.headers(clerk())
    received = days_ago(2)
    running = receive(client, th, applicant("甲"), on=received)
    before = date.fromisoformat(running["due"])
    # one checked yesterday: its check step was held to the deadline of then
    done = receive(client, th, applicant("乙"), on=days_ago(20))
    step(
        client,
        th,
        done["id"],
        "check",
        {"assessment": assessment(0), "on": days_ago(1).isoformat()},
    )
    held = db.session.scalar(
        sa.select(ApplicationStep.due).where(
            ApplicationStep.application_id == done["id"], ApplicationStep.step == "check"
        )
    )
    # a holiday the bureau enters late, on the first working day of the running count
    extra = workdays.add_working_days(received, 1)
    added = client.post(
        "/api/v1/calendar",
        headers=admin_headers,
        json={"day": extra.isoformat(), "kind": "holiday", "name": "区假"},
    )
    assert added.status_code == 201, added.text
    moved = client.get(f"/api/v1/applications/{running['id']}", headers=th).json["due"]
    assert moved == workdays.add_working_days(before, 1).isoformat()
    assert moved == workdays.add_working_days(received, 15).isoformat()
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(ApplicationStep.due).where(
                ApplicationStep.application_id == done["id"], ApplicationStep.step == "check"
            )
        )
        == held
    )
    # taken out again: the deadline is what it was
    gone = client.delete(f"/api/v1/calendar/{extra.isoformat()}", headers=admin_headers)
    assert gone.status_code == 200
    assert client.get(f"/api/v1/applications/{running['id']}", headers=th).json["due"] == (
        before.isoformat()
    )
    recounts = db.session.scalars(
        sa.select(AuditEntry.changes).where(
            AuditEntry.action == "application_due_recounted",
            AuditEntry.entity_id == str(running["id"]),
        )
    ).all()
    assert len(recounts) == 2


def _settings(client, h, year: int) -> dict:
    resp = client.get(f"/api/v1/homecare/year-settings?year={year}", headers=h)
    assert resp.status_code == 200, resp.text
    return {s["code"]: s for s in resp.json["settings"]} | {"_": resp.json}


def test_the_years_numbers_show_where_they_come_from(client, admin_headers):
    got = _settings(client, admin_headers, 2026)
    assert got["days.homecare.plan"]["value"] == 5
    assert got["days.homecare.plan"]["source"] == "default"
    assert got["points.item"]["source_text"] == "暂定默认值，民政局尚未设定"
    statute = got["_"]["statutory"]
    assert [s["days"] for s in statute] == [15, 7, 15]
    assert all("民发〔2021〕43号" in s["source"] for s in statute)
    put = client.put(
        "/api/v1/homecare/year-settings?year=2026",
        headers=admin_headers,
        json={"values": {"days.homecare.plan": 7, "points.alone": 25}},
    )
    assert put.status_code == 200, put.text
    got = _settings(client, admin_headers, 2026)
    assert got["days.homecare.plan"] == got["days.homecare.plan"] | {
        "value": 7,
        "source": "bureau",
        "source_text": "民政局设定（2026 年）",
    }
    assert got["days.homecare.check"]["source"] == "default"
    later = _settings(client, admin_headers, 2027)
    assert later["points.alone"]["value"] == 25 and later["points.alone"]["source"] == "inherited"
    assert later["_"]["inherited_from"] == 2026
    bad = client.put(
        "/api/v1/homecare/year-settings?year=2026",
        headers=admin_headers,
        json={"values": {"days.homecare.plan": 0, "nonsense": 3}},
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"days.homecare.plan", "nonsense"}


def test_a_home_care_check_takes_the_years_plan_deadline(client, admin_headers):
    year = days_ago(3).year
    client.put(
        f"/api/v1/homecare/year-settings?year={year}",
        headers=admin_headers,
        json={"values": {"days.homecare.plan": 2}},
    )
    th = f.headers(clerk())
    app = receive(client, th, applicant(age=82), kind="homecare", on=days_ago(3), year=year)
    on = days_ago(3)
    checked = step(
        client, th, app["id"], "check", {"assessment": assessment(1), "on": on.isoformat()}
    )
    assert checked["due"] == workdays.add_working_days(on, 2).isoformat()


def test_new_points_rescore_the_waiting_list(client, admin_headers):
    year = days_ago(3).year
    th = f.headers(clerk())
    app = receive(client, th, applicant(age=82), kind="homecare", on=days_ago(3), year=year)
    checked = step(
        client,
        th,
        app["id"],
        "check",
        {"assessment": assessment(2), "on": days_ago(2).isoformat(), "lives_alone": True},
    )
    assert checked["need"]["score"] == 2 * 10 + 10 + 10  # items, 80+, alone
    client.put(
        f"/api/v1/homecare/year-settings?year={year}",
        headers=admin_headers,
        json={"values": {"points.item": 15, "points.age80": 5}},
    )
    db.session.expire_all()
    row = db.session.get(Application, app["id"])
    assert row.need_score == 2 * 15 + 5 + 10
    assert "80周岁以上 +5" in row.need_reasons
    shown = client.get(f"/api/v1/applications/{app['id']}", headers=th).json
    assert shown["need"]["score"] == 45


@pytest.mark.parametrize("role", ["township", "auditor"])
def test_only_the_admin_sets_the_years_numbers(client, role):
    u = clerk() if role == "township" else f.user("auditor")
    h = f.headers(u)
    body = {"values": {"days.homecare.plan": 9}}
    assert client.put("/api/v1/homecare/year-settings", headers=h, json=body).status_code == 403
    assert client.get("/api/v1/homecare/year-settings", headers=h).status_code == (
        200 if role == "auditor" else 403
    )
    f.login(client, u)
    token = f.csrf(client, "/")
    posted = client.post(
        "/homecare/eligibility/settings?year=2026",
        data={"csrf_token": token, "days.homecare.plan": "9"},
    )
    assert posted.status_code == 403
    from intake import settings

    assert settings.values_for(2026)["days.homecare.plan"] == 5


def test_the_admin_sets_the_years_numbers_on_the_eligibility_page(client):
    admin = f.user("admin")
    f.login(client, admin)
    page = client.get("/homecare/eligibility?year=2026").get_data(as_text=True)
    assert "暂定默认值，民政局尚未设定" in page and "特困人员认定办法" in page
    token = f.csrf(client, "/homecare/eligibility?year=2026")
    saved = client.post(
        "/homecare/eligibility/settings?year=2026",
        data={"csrf_token": token, "days.homecare.enrol": "12", "points.tekun": "30"},
    )
    assert saved.status_code == 303
    page = client.get("/homecare/eligibility?year=2026").get_data(as_text=True)
    assert "民政局设定（2026 年）" in page
    from intake import settings

    v = settings.values_for(2026)
    assert v["days.homecare.enrol"] == 12 and v["points.tekun"] == 30
    assert v.source("days.homecare.plan") == "default"  # left blank: not set


def test_the_auditor_reads_the_eligibility_page_with_its_numbers(client):
    """Read-only, the rules' categories and care levels in words (the page once failed
    for anyone but the admin), the year's numbers without a form."""
    f.login(client, f.user("auditor"))
    page = client.get("/homecare/eligibility")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "特困" in text and "全护理" in text and "暂定默认值，民政局尚未设定" in text
    assert 'name="days.homecare.plan"' not in text
