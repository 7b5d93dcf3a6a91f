"""The working calendar (issue 18): statutory holidays and the weekends worked in exchange,
seeded with the State Council's 2026 schedule, kept by the bureau's admin on /calendar and
through /api/v1/calendar (audited), read by every working-day deadline; a year not entered
is warned about on the page and by the alerts job."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare import workdays
from eldercare.extensions import db
from eldercare.jobs import run_alerts
from eldercare.models import Alert, AuditEntry, CalendarDay
from tests import factories as f


def test_the_2026_schedule_is_seeded_as_the_state_council_published_it(app):
    days = {r.day: r.kind.value for r in db.session.scalars(sa.select(CalendarDay))}
    off = [d for d, k in days.items() if k == "holiday" and d.year == 2026]
    worked = sorted(d for d, k in days.items() if k == "workday" and d.year == 2026)
    # 元旦 3, 春节 9, 清明 3, 劳动节 5, 端午 3, 中秋 3, 国庆 7
    assert len(off) == 33
    assert worked == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert all(d.weekday() >= 5 for d in worked)  # every day worked is a weekend day
    assert not any(d.year == 2027 for d in days)  # not published when seeded


def test_deadlines_skip_the_holidays_and_count_the_weekends_worked(app):
    cal = workdays.calendar()
    # the day before 国庆: the next working day is after the seven days off
    assert workdays.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # a Friday before a Sunday worked (9月20日): that Sunday is the next working day
    assert workdays.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
    # 特困's 15 working days from Monday 28 September: 23 October (Mon-Fri alone: 19 October)
    assert workdays.add_working_days(date(2026, 9, 28), 15) == date(2026, 10, 23)
    # 春节: 14 Feb (Sat, worked), 16-23 off, 24-27, 28 Feb (Sat, worked)
    assert workdays.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert not cal.is_working_day(date(2026, 1, 1)) and cal.is_working_day(date(2026, 1, 4))
    # the two functions agree with each other and with a day-by-day count, all year
    start = date(2025, 12, 20)
    for offset in range(0, 400, 3):
        a = start + timedelta(days=offset)
        for n in (1, 3, 15):
            b = workdays.add_working_days(a, n)
            assert workdays.working_days_between(a, b) == n
            slow = sum(
                cal.is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1)
            )
            assert slow == n


def test_a_missing_year_is_warned_about_on_the_page_and_by_the_alerts_job(app, client):
    assert workdays.missing_years(date(2026, 6, 1)) == []
    assert workdays.missing_years(date(2026, 12, 5)) == [2027]  # from 1 November
    assert workdays.missing_years(date(2027, 3, 1)) == [2027]
    run_alerts("2026-12-05")
    db.session.commit()
    alerts = db.session.scalars(sa.select(Alert).where(Alert.kind == "calendar_missing")).all()
    assert [(a.role, a.link) for a in alerts] == [("admin", "/calendar?year=2027")]
    admin = f.user("admin")
    f.login(client, admin)
    # the page warns whenever the next year is missing from November on, as today's date
    # says; enter a 2027 day and the warning for 2027 is gone
    page = client.get("/calendar?year=2027").get_data(as_text=True)
    missing_now = workdays.missing_years()
    assert ("2027 年节假日安排尚未录入" in page) == (2027 in missing_now)
    workdays.add_day(date(2027, 1, 1), "holiday", "元旦")
    db.session.commit()
    assert 2027 not in workdays.missing_years(date(2026, 12, 5))
    run_alerts("2026-12-06")
    db.session.commit()
    assert not db.session.scalars(
        sa.select(Alert).where(Alert.kind == "calendar_missing", Alert.day == "2026-12-06")
    ).all()


def test_the_admin_keeps_the_calendar_through_the_api_audited(app, client, admin_headers):
    resp = client.get("/api/v1/calendar?year=2026", headers=admin_headers)
    assert resp.status_code == 200
    assert resp.json["entered"] is True and len(resp.json["days"]) == 39
    # 2027's 元旦 (as a bureau would enter it from the notice)
    added = client.post(
        "/api/v1/calendar",
        headers=admin_headers,
        json={"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
    )
    assert added.status_code == 201, added.text
    assert added.json == {"day": "2027-01-01", "kind": "holiday", "name": "元旦"}
    again = client.post(
        "/api/v1/calendar", headers=admin_headers, json={"day": "2027-01-01", "kind": "holiday"}
    )
    assert again.status_code == 409
    weekday = client.post(
        "/api/v1/calendar", headers=admin_headers, json={"day": "2027-01-05", "kind": "workday"}
    )
    assert weekday.status_code == 422 and "day" in weekday.json["error"]["fields"]
    listed = client.get("/api/v1/calendar?year=2027", headers=admin_headers).json
    assert listed["entered"] is True and [d["day"] for d in listed["days"]] == ["2027-01-01"]
    gone = client.delete("/api/v1/calendar/2027-01-01", headers=admin_headers)
    assert gone.status_code == 200 and gone.json["days"] == [] and not gone.json["entered"]
    assert client.delete("/api/v1/calendar/2027-01-01", headers=admin_headers).status_code == 404
    assert client.delete("/api/v1/calendar/not-a-day", headers=admin_headers).status_code == 422
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(
            AuditEntry.entity == "calendar_days", AuditEntry.entity_id == "2027-01-01"
        )
    ).all()
    assert sorted(actions) == ["create", "delete"]


@pytest.mark.parametrize("role", ["auditor", "township"])
def test_no_one_but_the_admin_changes_the_calendar(app, client, role):
    kw = {"township_code": "510704101"} if role == "township" else {}
    u = f.user(role, **kw)
    h = f.headers(u)
    body = {"day": "2026-12-07", "kind": "holiday", "name": "x"}
    assert client.post("/api/v1/calendar", headers=h, json=body).status_code == 403
    assert client.delete("/api/v1/calendar/2026-10-01", headers=h).status_code == 403
    assert client.get("/api/v1/calendar", headers=h).status_code == (
        200 if role == "auditor" else 403
    )
    f.login(client, u)
    token = f.csrf(client, "/")
    posted = client.post(
        "/calendar",
        data={"csrf_token": token, "day": "2026-12-07", "kind": "holiday", "name": "x"},
    )
    assert posted.status_code == 403
    assert client.post("/calendar/2026-10-01/delete", data={"csrf_token": token}).status_code == 403
    assert client.get("/calendar").status_code == (200 if role == "auditor" else 403)
    assert db.session.get(CalendarDay, date(2026, 10, 1)) is not None
    assert db.session.get(CalendarDay, date(2026, 12, 7)) is None


def test_the_admin_keeps_the_calendar_on_its_page(app, client):
    admin = f.user("admin")
    f.login(client, admin)
    page = client.get("/calendar?year=2026")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2026-10-10" in text and "国庆节" in text
    token = f.csrf(client, "/calendar")
    added = client.post(
        "/calendar",
        data={"csrf_token": token, "day": "2026-12-28", "kind": "holiday", "name": "区假"},
    )
    assert added.status_code == 303
    assert db.session.get(CalendarDay, date(2026, 12, 28)).name == "区假"
    refused = client.post(
        "/calendar", data={"csrf_token": token, "day": "2026-12-29", "kind": "workday"}
    )
    assert refused.status_code == 422 and "须是周六或周日" in refused.get_data(as_text=True)
    gone = client.post("/calendar/2026-12-28/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    db.session.expire_all()
    assert db.session.get(CalendarDay, date(2026, 12, 28)) is None
