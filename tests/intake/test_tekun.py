"""特困 applications step by step (认定办法 2021): received at the township, checked with
the six-item assessment within 15 working days, noticed 7 days in the village, decided by
the bureau after the notice; support from the first day of the next month."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import AuditEntry, Person, WubaoSupport
from eldercare.timeutil import local_today
from intake.deadlines import add_working_days, first_of_next_month, working_days_between
from tests import factories as f

from .helpers import (
    SHIMA,
    applicant,
    assessment,
    clerk,
    days_ago,
    receive,
    step,
    tekun_to_notice,
)


def test_working_days_skip_weekends(app):
    friday = date(2026, 12, 4)
    assert add_working_days(friday, 1) == date(2026, 12, 7)  # Monday
    assert add_working_days(friday, 15) == date(2026, 12, 25)
    assert working_days_between(friday, date(2026, 12, 25)) == 15
    assert working_days_between(friday, friday) == 0
    assert first_of_next_month(date(2026, 12, 15)) == date(2027, 1, 1)


def test_an_application_goes_from_the_township_desk_to_support(client, admin_headers):
    town = clerk()
    th = f.headers(town)
    p = applicant()
    app = receive(client, th, p, on=days_ago(30), support="dispersed", note="本人申请")
    assert app["status"] == "received" and app["kind"] == "tekun"
    assert app["due"] == add_working_days(days_ago(30), 15).isoformat()
    assert [s["step"] for s in app["steps"]] == ["receive"]

    checked = step(
        client,
        th,
        app["id"],
        "check",
        {
            "assessment": assessment(failed=2),
            "on": days_ago(25).isoformat(),
            "note": "入户调查：无收入、无赡养人",
        },
    )
    assert checked["status"] == "checked" and checked["care_level"] == "partial"
    assert checked["due"] == add_working_days(days_ago(25), 3).isoformat()

    noticed = step(client, th, app["id"], "notice", {"from": days_ago(20).isoformat()})
    assert noticed["status"] == "noticed"
    assert noticed["notice"] == {
        "from": days_ago(20).isoformat(),
        "until": days_ago(14).isoformat(),
    }
    assert noticed["due"] == add_working_days(days_ago(14), 15).isoformat()

    decided = step(client, admin_headers, app["id"], "decide", {"approved": True})
    assert decided["status"] == "approved"
    since = first_of_next_month(local_today())
    assert decided["support_from"] == since.isoformat()
    assert decided["category"] == "elderly" and decided["support"] == "dispersed"

    support = db.session.scalar(sa.select(WubaoSupport).where(WubaoSupport.person_id == p.id))
    assert support.start_date == since and support.category.value == "elderly"
    db.session.refresh(p)
    assert p.care_level.value == "partial"

    shown = client.get(f"/api/v1/applications/{app['id']}", headers=th).json
    steps = {s["step"]: s for s in shown["steps"]}
    assert list(steps) == ["receive", "check", "notice", "decide"]
    assert steps["check"]["by_id"] == town.id and steps["decide"]["late"] is False
    assert steps["notice"]["on"] == days_ago(20).isoformat()
    # every step is audited
    actions = set(
        db.session.scalars(
            sa.select(AuditEntry.action).where(
                AuditEntry.entity == "applications", AuditEntry.entity_id == str(app["id"])
            )
        )
    )
    assert {"application_check", "application_notice", "application_decide"} <= actions


def test_steps_out_of_order_are_conflicts(client, admin_headers):
    th = f.headers(clerk())
    app = receive(client, th, applicant(), on=days_ago(10))
    step(client, th, app["id"], "notice", {"from": days_ago(1).isoformat()}, 409)
    step(client, admin_headers, app["id"], "decide", {"approved": True}, 409)
    step(
        client, th, app["id"], "check", {"assessment": assessment(), "on": days_ago(5).isoformat()}
    )
    again = step(client, th, app["id"], "check", {"assessment": assessment()}, 409)
    assert again["error"]["code"] == "out_of_order"
    # a date before the step it follows, or in the future, names the field
    bad = step(client, th, app["id"], "notice", {"from": days_ago(8).isoformat()}, 422)
    assert "from" in bad["error"]["fields"]
    step(client, th, app["id"], "notice", {"from": days_ago(2).isoformat()})
    running = step(client, admin_headers, app["id"], "decide", {"approved": True}, 409)
    assert running["error"]["code"] == "notice_running"
    # the township does not decide
    step(client, th, app["id"], "decide", {"approved": True}, 403)


def test_a_late_step_is_allowed_and_counted(client, admin_headers):
    th = f.headers(clerk())
    app = receive(client, th, applicant(), on=days_ago(40))
    due = app["due"]
    assert date.fromisoformat(due) < local_today()
    listed = client.get("/api/v1/applications?overdue=true", headers=th).json
    assert [a["id"] for a in listed["items"]] == [app["id"]] and listed["items"][0]["overdue"]
    checked = step(client, th, app["id"], "check", {"assessment": assessment()})
    check = next(s for s in checked["steps"] if s["step"] == "check")
    assert check["late"] is True and check["due"] == due and checked["late_steps"] == 1
    overview = client.get("/api/v1/stats/overview", headers=admin_headers).json["intake"]
    assert overview["late"] == 1 and overview["open"] == 1


def test_a_refusal_needs_written_reasons(client, admin_headers):
    th = f.headers(clerk())
    app = tekun_to_notice(client, th, applicant())
    no = step(client, admin_headers, app["id"], "decide", {"approved": False}, 422)
    assert "reasons" in no["error"]["fields"]
    refused = step(
        client,
        admin_headers,
        app["id"],
        "decide",
        {"approved": False, "reasons": "有赡养能力的子女"},
    )
    assert refused["status"] == "refused"
    assert refused["decision"]["reasons"] == "有赡养能力的子女"
    assert db.session.scalar(sa.select(sa.func.count(WubaoSupport.id))) == 0
    overview = client.get("/api/v1/stats/overview", headers=admin_headers).json["intake"]
    assert overview["refused"] == 1 and overview["open"] == 0


def test_centralised_applicants_join_the_placement_list_care_needs_first(client, admin_headers):
    th = f.headers(clerk())
    able = applicant("李自理", age=70)
    frail = applicant("张全护", age=82)
    a1 = tekun_to_notice(client, th, able, failed=0, support="centralized")
    a2 = tekun_to_notice(client, th, frail, failed=5, support="centralized")
    step(
        client, admin_headers, a1["id"], "decide", {"approved": True, "on": days_ago(3).isoformat()}
    )
    step(client, admin_headers, a2["id"], "decide", {"approved": True})
    supports = {s.person_id: s for s in db.session.scalars(sa.select(WubaoSupport))}
    assert supports[frail.id].applied_centralized_on == local_today()
    assert supports[able.id].applied_centralized_on == days_ago(3)
    assert supports[frail.id].support.value == "dispersed"  # at home until a bed is found
    page = f.login(client, f.user("admin")).get("/placements")
    text = page.text
    # the full-care applicant waits ahead of the self-care one who applied earlier
    assert text.index("张全护") < text.index("李自理")


def test_withdrawal_needs_a_reason_and_closes_the_application(client):
    th = f.headers(clerk())
    app = receive(client, th, applicant(), on=days_ago(3))
    step(client, th, app["id"], "withdraw", {"reason": ""}, 422)
    done = step(client, th, app["id"], "withdraw", {"reason": "申请人自愿放弃"})
    assert done["status"] == "withdrawn" and done["withdraw_reason"] == "申请人自愿放弃"
    step(client, th, app["id"], "check", {"assessment": assessment()}, 409)
    # a new application may be received once the first is closed
    receive(client, th, _person(app["person_id"]))


def _person(pid):
    return db.session.get(Person, pid)


def test_one_open_application_per_person_and_kind(client, admin_headers):
    th = f.headers(clerk())
    p = applicant()
    receive(client, th, p)
    again = client.post(
        "/api/v1/applications",
        headers=th,
        json={"kind": "tekun", "person_id": p.id, "received_on": local_today().isoformat()},
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "already_applying"
    receive(client, th, p, kind="homecare")  # another kind is another application


def test_already_supported_people_do_not_apply_again(client, admin_headers):
    p = applicant()
    client.post(
        f"/api/v1/people/{p.id}/wubao",
        headers=admin_headers,
        json={"category": "elderly", "support": "dispersed", "since": days_ago(100).isoformat()},
    )
    resp = client.post(
        "/api/v1/applications",
        headers=f.headers(clerk()),
        json={"kind": "tekun", "person_id": p.id, "received_on": local_today().isoformat()},
    )
    assert resp.status_code == 409 and resp.json["error"]["code"] == "already_supported"


def test_a_new_applicant_is_registered_in_the_clerks_township(client):
    th = f.headers(clerk())
    number = f.new_id_number(date(1950, 5, 1))
    resp = client.post(
        "/api/v1/applications",
        headers=th,
        json={
            "kind": "tekun",
            "received_on": local_today().isoformat(),
            "person": {"name": "赵新人", "id_number": number, "address": "3组12号"},
        },
    )
    assert resp.status_code == 201, resp.text
    person = _person(resp.json["person_id"])
    assert person.township_code == SHIMA and person.name == "赵新人"
    bad = client.post(
        "/api/v1/applications",
        headers=th,
        json={
            "kind": "tekun",
            "received_on": local_today().isoformat(),
            "person": {"name": "钱", "id_number": "360426199101010072"},
        },
    )
    assert bad.status_code == 422 and "id_number" in bad.json["error"]["fields"]


def test_an_applicant_who_dies_has_the_application_withdrawn(client, admin_headers):
    th = f.headers(clerk())
    p = applicant()
    app = receive(client, th, p, on=days_ago(5))
    resp = client.post(
        f"/api/v1/people/{p.id}/death",
        headers=admin_headers,
        json={"date": days_ago(1).isoformat()},
    )
    assert resp.status_code == 200, resp.text
    shown = client.get(f"/api/v1/applications/{app['id']}", headers=th).json
    assert shown["status"] == "withdrawn" and shown["withdraw_reason"] == "申请人死亡"
