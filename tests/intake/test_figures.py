"""The figures recounted against the rows: the overview's `intake`, the figures page and
its API (by township and status, steps against deadlines, decisions and reasons, the
waiting list), and the alert when a deadline passes."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.timeutil import local_today
from intake.models import Application, ApplicationStep
from tests import factories as f

from .helpers import SHIMA, XINQIAO, applicant, assessment, clerk, days_ago, receive, step
from .helpers import tekun_to_notice as noticed


def _mix(client, admin_headers):
    """Applications of two townships in every state: open (one late), approved,
    refused, withdrawn, waiting."""
    shima, xinqiao = f.headers(clerk(SHIMA)), f.headers(clerk(XINQIAO))
    client.put(
        "/api/v1/homecare/eligibility-rules",
        headers=admin_headers,
        json={"places": 0, "rules": [{"code": "age80", "label": "80+", "min_age": 80}]},
    )
    receive(client, shima, applicant("逾期未查", SHIMA), on=days_ago(40))
    receive(client, shima, applicant("刚受理", SHIMA), on=days_ago(1))
    ok = noticed(client, shima, applicant("确认者", SHIMA))
    step(client, admin_headers, ok["id"], "decide", {"approved": True})
    no = noticed(client, xinqiao, applicant("不予确认", XINQIAO))
    step(client, admin_headers, no["id"], "decide", {"approved": False, "reasons": "有赡养人"})
    gone = receive(client, xinqiao, applicant("撤回者", XINQIAO))
    step(client, xinqiao, gone["id"], "withdraw", {"reason": "自愿放弃"})
    hc = receive(
        client, xinqiao, applicant("轮候者", XINQIAO, age=88), kind="homecare", on=days_ago(20)
    )
    step(
        client,
        xinqiao,
        hc["id"],
        "check",
        {"assessment": assessment(3), "on": days_ago(2).isoformat()},
    )  # late
    step(client, xinqiao, hc["id"], "plan", {"lines": [{"code": "meal", "per_month": 2}]})
    step(client, admin_headers, hc["id"], "decide", {"approved": True})


def test_the_overview_counts_the_rows(client, admin_headers):
    _mix(client, admin_headers)
    fig = client.get("/api/v1/stats/overview", headers=admin_headers).json["intake"]
    year = local_today().year
    rows = db.session.scalars(sa.select(Application).where(Application.year == year)).all()
    status = Counter(a.status.value for a in rows)
    today = local_today()
    late = {
        a.id
        for a in rows
        if a.status.value in ("received", "checked", "noticed") and a.due and a.due < today
    }
    late |= {
        s.application_id
        for s in db.session.scalars(
            sa.select(ApplicationStep).where(ApplicationStep.late.is_(True))
        )
    }
    assert fig == {
        "year": year,
        "open": status["received"] + status["checked"] + status["noticed"],
        "late": len(late),
        "approved": status["approved"],
        "refused": status["refused"],
        "waiting": status["waiting"],
    }
    assert (fig["open"], fig["late"], fig["approved"], fig["refused"], fig["waiting"]) == (
        2,
        2,
        1,
        1,
        1,
    )


def test_the_figures_page_and_api_count_the_same_rows(client, admin_headers):
    _mix(client, admin_headers)
    data = client.get("/api/v1/intake/figures", headers=admin_headers).json
    towns = {t["township_code"]: t for t in data["townships"]}
    for code in (SHIMA, XINQIAO):
        mine = db.session.scalars(
            sa.select(Application).where(Application.township_code == code)
        ).all()
        c = Counter(a.status.value for a in mine)
        assert towns[code]["total"] == len(mine)
        assert all(
            towns[code][s] == c[s]
            for s in ("received", "approved", "refused", "withdrawn", "waiting")
        )
    assert towns[SHIMA]["overdue"] == 1 and towns[XINQIAO]["overdue"] == 0
    steps = {(s["kind"], s["step"]): s for s in data["steps"]}
    done = Counter(
        (a.kind.value, s.step.value)
        for a in db.session.scalars(sa.select(Application))
        for s in a.steps
    )
    assert steps[("tekun", "check")]["done"] == done[("tekun", "check")] == 2
    assert steps[("homecare", "check")]["late"] == 1
    refusals = next(d for d in data["decisions"] if d["kind"] == "tekun")
    assert refusals["refused"] == 1 and refusals["reasons"] == [{"reason": "有赡养人", "count": 1}]
    assert (
        data["waiting"]["count"] == 1
        and data["waiting"]["oldest_since"] == local_today().isoformat()
    )
    page = f.login(client, f.user("admin")).get("/applications/figures")
    assert page.status_code == 200
    assert 'data-figure="open">2<' in page.text and 'data-figure="waiting">1<' in page.text
    assert "js-hc-chart" in page.text


def test_a_deadline_passed_alerts_the_township_and_the_bureau(client, admin_headers):
    shima = clerk(SHIMA)
    receive(client, f.headers(shima), applicant("逾期未查", SHIMA), on=days_ago(40))
    other = clerk(XINQIAO)
    run_job("alerts", local_today().isoformat(), trigger="cli")
    db.session.commit()
    mine = f.login(client, shima).get("/")  # the clerk's first page: their applications
    assert 'data-testid="applications"' in mine.text
    assert "本乡镇（街道）1 份申请已超过办理时限" in mine.text
    client.post("/logout", data={"csrf_token": f.csrf(client)})
    theirs = f.login(client, other).get("/")
    assert "份申请已超过办理时限" not in theirs.text
    client.post("/logout", data={"csrf_token": f.csrf(client)})
    bureau = f.login(client, f.user("admin")).get("/")  # the district overview
    assert "石马镇：1 份申请已超过办理时限" in bureau.text
