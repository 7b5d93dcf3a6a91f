"""Issue 17.6: day-care use measured by attendance. The figures (attendance days and
distinct elders per centre and month) recounted against the rows in the overview, the
per-centre API, the occupancy page and /public; a day's register saved whole, again
without change, never for the future; each role's boundary both ways."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import AuditEntry
from eldercare.timeutil import Month, local_today
from facilities import daycare_register, services
from facilities.models import Attendance
from tests import factories

from .conftest import make_home

TODAY = local_today()


def _centres():
    a, _ = make_home("魏城镇老年人日间照料中心", beds=2, kind="day_care", township="510704104")
    b, _ = make_home("石马镇老年人日间照料中心", beds=2, kind="day_care", township="510704101")
    return a, b


def _weekdays_back(n: int) -> list:
    """The last `n` weekdays before today, oldest first (some of them last month)."""
    days, d = [], TODAY - timedelta(days=1)
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return days[::-1]


def _history(a, b):
    """Attendance over the past weeks at two centres; 张 goes to both."""
    people = [factories.person(n) for n in ("张桂芳", "李长林", "王德福", "赵秀英")]
    zhang, li, wang, zhao = people
    for i, day in enumerate(_weekdays_back(30)):
        daycare_register.save_register(a, day, [zhang, li] + ([wang] if i % 2 else []))
        if i % 3 == 0:
            daycare_register.save_register(b, day, [zhang, zhao])
    services.record_attendance(a, zhao, TODAY)  # today's one-at-a-time arrival
    db.session.commit()
    return people


def _recount(month: Month) -> dict:
    """The figures straight from the rows, in Python."""
    per: dict[int, list] = defaultdict(list)
    for fid, pid, day in db.session.execute(
        sa.select(Attendance.facility_id, Attendance.person_id, Attendance.day)
    ):
        if day in month:
            per[fid].append(pid)
    every = [pid for rows in per.values() for pid in rows]
    return {
        "attendance_days": len(every),
        "elders": len(set(every)),
        "centres": {fid: (len(rows), len(set(rows))) for fid, rows in per.items()},
    }


def test_the_figures_recount_against_the_rows(client, admin_headers):
    a, b = _centres()
    _history(a, b)
    for day in (TODAY, _weekdays_back(30)[0]):
        month = Month.of(day)
        want = _recount(month)
        o = client.get(f"/api/v1/stats/overview?date={day}", headers=admin_headers).json
        assert o["day_care"]["attendance_days"] == want["attendance_days"] > 0
        assert o["day_care"]["elders"] == want["elders"]
        assert o["day_care"]["month"] == month.text
        use = client.get(f"/api/v1/facilities/day-care?date={day}", headers=admin_headers).json
        assert (use["attendance_days"], use["elders"]) == (want["attendance_days"], want["elders"])
        got = {c["facility_id"]: (c["attendance_days"], c["elders"]) for c in use["centres"]}
        assert got == {f.id: want["centres"].get(f.id, (0, 0)) for f in (a, b)}
        # a person at two centres is one elder of the district
        assert want["elders"] < sum(e for _d, e in got.values())


def test_the_occupancy_page_public_page_and_dashboard_show_them(client, admin):
    a, b = _centres()
    people = _history(a, b)
    want = _recount(Month.of(TODAY))
    factories.login(client, admin)
    page = client.get("/facilities/occupancy").text
    table = page.split('data-testid="daycare-table"')[1].split("</table>")[0]
    assert a.name in table and b.name in table
    totals = page.split('data-testid="daycare-totals"')[1].split("</p>")[0]
    assert f"{want['attendance_days']:,} 人次" in totals and f"{want['elders']} 位老人" in totals
    dash = client.get("/overview").text
    assert 'data-testid="daycare-panel"' in dash and 'id="daycare-trend"' in dash
    assert f'data-month="{Month.of(TODAY).text}"' in dash
    client.get("/logout")
    public = client.get("/public").text
    assert f"{want['attendance_days']:,} 人次" in public and f"{want['elders']} 人" in public
    assert not any(p.name in public for p in people) and a.name not in public


def test_a_manager_saves_a_days_register_and_saving_again_changes_nothing(client, app):
    a, b = _centres()
    people = _history(a, b)
    zhang, _li, wang, zhao = people
    mgr = factories.user("manager", facility_id=a.id)
    h = factories.headers(mgr)
    day = _weekdays_back(1)[0]
    shown = client.get(f"/api/v1/facilities/{a.id}/attendance/{day}", headers=h).json
    assert {r["name"] for r in shown["regulars"]} == {"张桂芳", "李长林", "王德福", "赵秀英"}
    url = f"/api/v1/facilities/{a.id}/attendance/{day}"
    r = client.put(url, json={"person_ids": [zhang.id, wang.id, zhao.id]}, headers=h)
    assert r.status_code == 200, r.json
    assert r.json["person_ids"] == sorted([zhang.id, wang.id, zhao.id])
    audits = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    again = client.put(url, json={"person_ids": [zhao.id, zhang.id, wang.id, wang.id]}, headers=h)
    assert (again.status_code, again.json["added"], again.json["removed"]) == (200, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audits
    rows = db.session.scalars(
        sa.select(Attendance.person_id).where(Attendance.facility_id == a.id, Attendance.day == day)
    ).all()
    assert sorted(rows) == sorted([zhang.id, wang.id, zhao.id])
    entry = db.session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.entity == "attendance")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.username == mgr.username
    # nobody was there: the day empties
    assert client.put(url, json={"person_ids": []}, headers=h).json["attendance_days"] == 0


def test_the_register_refuses_the_future_a_care_home_and_the_departed(client, admin_headers, home):
    a, _b = _centres()
    zhang = factories.person("张桂芳")
    tomorrow = TODAY + timedelta(days=1)
    r = client.put(
        f"/api/v1/facilities/{a.id}/attendance/{tomorrow}",
        json={"person_ids": [zhang.id]},
        headers=admin_headers,
    )
    assert (r.status_code, r.json["error"]["code"]) == (422, "invalid_date")
    r = client.put(
        f"/api/v1/facilities/{a.id}/attendance/2026-13-01",
        json={"person_ids": [zhang.id]},
        headers=admin_headers,
    )
    assert r.status_code == 422
    r = client.put(
        f"/api/v1/facilities/{home[0].id}/attendance/{TODAY}",
        json={"person_ids": [zhang.id]},
        headers=admin_headers,
    )
    assert r.status_code == 422
    gone = factories.person("李长林")
    gone.death_date, gone.status = TODAY - timedelta(days=3), "deceased"
    db.session.commit()
    before = TODAY - timedelta(days=5)
    ok = client.put(
        f"/api/v1/facilities/{a.id}/attendance/{before}",
        json={"person_ids": [gone.id]},
        headers=admin_headers,
    )
    assert ok.status_code == 200  # they came before they died
    r = client.put(
        f"/api/v1/facilities/{a.id}/attendance/{TODAY}",
        json={"person_ids": [gone.id]},
        headers=admin_headers,
    )
    assert (r.status_code, r.json["error"]["code"]) == (409, "person_not_active")
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 1


def test_scopes_both_ways(client, home):
    a, b = _centres()
    people = _history(a, b)
    care_home, _beds = home
    centre_mgr = factories.headers(factories.user("manager", facility_id=a.id))
    home_mgr = factories.headers(factories.user("manager", facility_id=care_home.id))
    auditor = factories.headers(factories.user("auditor"))
    body = {"person_ids": [people[0].id]}
    # a centre manager: not another centre's register, not a care home's board
    assert (
        client.get(f"/api/v1/facilities/{b.id}/attendance/{TODAY}", headers=centre_mgr).status_code
        == 404
    )
    assert (
        client.put(
            f"/api/v1/facilities/{b.id}/attendance/{TODAY}", json=body, headers=centre_mgr
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/facilities/{care_home.id}/beds", headers=centre_mgr).status_code == 404
    )
    use = client.get("/api/v1/facilities/day-care", headers=centre_mgr).json
    assert [c["facility_id"] for c in use["centres"]] == [a.id]
    # a person of another centre only, named by a bare id: not found
    assert (
        client.put(
            f"/api/v1/facilities/{a.id}/attendance/{TODAY}",
            json={"person_ids": [people[3].id, 10**9]},
            headers=centre_mgr,
        ).status_code
        == 404
    )
    # a care-home manager records no centre's attendance, nor day care in their home
    assert (
        client.put(
            f"/api/v1/facilities/{a.id}/attendance/{TODAY}", json=body, headers=home_mgr
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/facilities/{a.id}/attendance/{TODAY}", headers=home_mgr).status_code
        == 404
    )
    assert client.get("/api/v1/facilities/day-care", headers=home_mgr).json["centres"] == []
    # the auditor reads and never writes
    assert (
        client.get(f"/api/v1/facilities/{a.id}/attendance/{TODAY}", headers=auditor).status_code
        == 200
    )
    assert (
        client.put(
            f"/api/v1/facilities/{a.id}/attendance/{TODAY}", json=body, headers=auditor
        ).status_code
        == 403
    )


def test_the_register_page_ticks_and_saves(client):
    a, b = _centres()
    zhang, li, wang, zhao = _history(a, b)
    mgr = factories.user("manager", facility_id=a.id)
    factories.login(client, mgr)
    home = client.get("/").text
    assert f'href="/facilities/{a.id}/register"' in home and 'data-testid="home-daycare"' in home
    day = _weekdays_back(2)[0]
    page = client.get(f"/facilities/{a.id}/register?date={day}").text
    for p in (zhang, li, wang, zhao):
        assert f'data-testid="present-{p.id}"' in page
    token = factories.csrf(client, f"/facilities/{a.id}/register")
    newcomer = factories.person("孙玉兰")
    r = client.post(
        f"/facilities/{a.id}/register",
        data={
            "csrf_token": token,
            "date": day.isoformat(),
            "person_id": [str(li.id), str(zhao.id)],
            "id_number": newcomer.id_number,
        },
    )
    assert r.status_code == 303 and f"date={day}" in r.headers["Location"]
    page = client.get(f"/facilities/{a.id}/register?date={day}").text
    for p, ticked in ((zhang, False), (li, True), (wang, False), (zhao, True), (newcomer, True)):
        tag = page.split(f'data-testid="present-{p.id}"')[1].split(">")[0]
        assert ("checked" in tag) is ticked, p.name
    # another centre's register and a future day are refused
    assert client.get(f"/facilities/{b.id}/register").status_code == 404
    r = client.post(
        f"/facilities/{a.id}/register",
        data={
            "csrf_token": token,
            "date": (TODAY + timedelta(days=1)).isoformat(),
            "person_id": [str(li.id)],
        },
    )
    assert r.status_code in (302, 303)
    assert client.get(r.headers["Location"]).status_code == 200
    assert not db.session.scalar(sa.select(Attendance.id).where(Attendance.day > TODAY))
