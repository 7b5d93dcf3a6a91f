"""New entrants (应保尽保): other departments' lists of disability certificates, 低保
recipients and people turning 60 or 80 propose applications for those who qualify and
are not supported; accepted, an application is received; dismissed, with a reason; both
counted beside the exits in the timeliness figures."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from dynamic.models import Proposal
from eldercare.extensions import db
from eldercare.timeutil import local_today
from intake.models import Application
from tests import factories as f
from tests.dynamic.helpers import csv_bytes, tekun, upload

from .helpers import SHIMA, applicant, clerk, days_ago, receive


def _turning(age: int):
    """Someone whose birthday of `age` falls in this month."""
    today = local_today()
    return date(today.year - age, today.month, 1)


def test_the_lists_propose_applications_for_the_unsupported_only(client, admin_headers):
    poor = applicant("低保老人", age=72)
    young = applicant("低保青年", age=45)
    supported = tekun("特困老人", birth=date(1940, 1, 1))
    applying = applicant("已申请", age=70)
    receive(client, f.headers(clerk()), applying)
    rows = [
        [p.id_number, p.name, days_ago(3).isoformat()] for p in (poor, young, supported, applying)
    ]
    resp = upload(client, admin_headers, "dibao", csv_bytes(rows), source="低保系统")
    assert resp.status_code == 201, resp.text
    assert resp.json["proposals"] == 1 and resp.json["matched"] == 4
    proposals = client.get(
        f"/api/v1/comparisons/{resp.json['id']}/proposals", headers=admin_headers
    ).json["items"]
    assert [(p["person_id"], p["kind"], p["source_kind"]) for p in proposals] == [
        (poor.id, "propose_application", "dibao")
    ]
    assert any("低保" in e for e in proposals[0]["effects"])
    shown = client.get(f"/api/v1/comparisons/{resp.json['id']}", headers=admin_headers).json
    reasons = {r["name"]: r["reason"] for r in shown["report"]}
    assert "未满60周岁" in reasons["低保青年"]
    assert "已是特困供养人员" in reasons["特困老人"]
    assert "已有在办" in reasons["已申请"]


def test_accepting_starts_an_application_at_the_persons_township(client, admin_headers):
    eighty = f.person("满八十", birth=_turning(80), township_code=SHIMA)
    sixty = f.person("满六十", birth=_turning(60), township_code=SHIMA)
    not_now = applicant("七十五", age=75)
    rows = [[p.id_number, p.name, local_today().isoformat()] for p in (eighty, sixty, not_now)]
    resp = upload(client, admin_headers, "age", csv_bytes(rows), source="公安户籍")
    assert resp.json["proposals"] == 2, resp.json
    by_person = {p.person_id: p for p in db.session.scalars(sa.select(Proposal))}
    accepted = client.post(
        f"/api/v1/proposals/{by_person[eighty.id].id}/accept", headers=admin_headers
    )
    assert accepted.status_code == 200, accepted.text
    app = db.session.scalar(sa.select(Application).where(Application.person_id == eighty.id))
    # 80+ meets this year's default rules: a home-care application, received today
    assert app.kind.value == "homecare" and app.status.value == "received"
    assert app.source == "age" and app.proposal_id == by_person[eighty.id].id
    assert app.township_code == SHIMA and app.received_on == local_today()
    db.session.refresh(eighty)
    assert "age80" in {c.category.value for c in eighty.categories}
    # dismissing takes a reason, and starts nothing
    dismissed = client.post(
        f"/api/v1/proposals/{by_person[sixty.id].id}/reject",
        headers=admin_headers,
        json={"reason": "有退休金和子女赡养"},
    )
    assert dismissed.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 1
    # the township clerk sees the application on their desk
    listed = client.get("/api/v1/applications", headers=f.headers(clerk())).json
    assert [a["source"] for a in listed["items"]] == ["age"]


def test_a_disability_list_proposes_a_tekun_application(client, admin_headers):
    disabled = applicant("残疾青年", age=35)
    resp = upload(
        client,
        admin_headers,
        "disability",
        csv_bytes([[disabled.id_number, disabled.name, days_ago(30).isoformat()]]),
    )
    pid = db.session.scalar(sa.select(Proposal.id))
    effects = client.get(
        f"/api/v1/comparisons/{resp.json['id']}/proposals", headers=admin_headers
    ).json["items"][0]["effects"]
    assert any("残疾人" in e for e in effects) and any("特困" in e for e in effects)
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers).status_code == 200
    app = db.session.scalar(sa.select(Application))
    assert app.kind.value == "tekun" and app.source == "disability"
    # decided once: the second is a conflict
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers).status_code == 409


def test_entrants_are_counted_beside_the_exits(client, admin_headers):
    a, b, c = (applicant(n, age=70) for n in ("甲", "乙", "丙"))
    upload(
        client,
        admin_headers,
        "dibao",
        csv_bytes([[p.id_number, p.name, days_ago(2).isoformat()] for p in (a, b, c)]),
    )
    ids = {p.person_id: p.id for p in db.session.scalars(sa.select(Proposal))}
    client.post(f"/api/v1/proposals/{ids[a.id]}/accept", headers=admin_headers)
    client.post(
        f"/api/v1/proposals/{ids[b.id]}/reject",
        headers=admin_headers,
        json={"reason": "已迁往外地居住"},
    )
    fig = client.get("/api/v1/dynamic/figures", headers=admin_headers).json["entrants"]
    dibao = next(s for s in fig["by_source"] if s["source"] == "dibao")
    assert (dibao["found"], dibao["accepted"], dibao["dismissed"], dibao["pending"]) == (3, 1, 1, 1)
    assert (fig["found"], fig["accepted"]) == (3, 1)
    page = f.login(client, f.user("admin")).get("/comparisons/figures")
    assert page.status_code == 200 and "应保尽保" in page.text
    intake = client.get("/api/v1/intake/figures", headers=admin_headers).json
    assert {s["source"]: s["applications"] for s in intake["sources"]}["dibao"] == 1
