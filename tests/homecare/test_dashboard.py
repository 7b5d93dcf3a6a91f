"""The home-care dashboard: subsidy allocated and used per provider, used per township,
visits and flagged visits per local month, call-back results — on the page's tables and
in the API's JSON, scoped to the provider's own organisation for provider staff."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import LOCAL, local_today
from homecare import services
from homecare import visits as hv
from homecare.claims.models import (
    CallbackOutcome,
    CallbackReason,
    CallbackSample,
    Claim,
    ClaimSource,
)
from homecare.models import LedgerEntry, Visit
from tests import factories as f
from tests.facilities.conftest import make_home

from .claims.conftest import Month
from .conftest import elder, enrol, make_provider

YEAR = local_today().year - 1  # a whole past year: every month is in the past
A_TOWN, B_TOWN = "510704001", "510704003"


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=LOCAL).astimezone(UTC)


def visit(m: Month, i: int, month: int, day: int, hour: int, minutes: int, worker=None):
    start = at(month, day, hour)
    v = hv.check_in(worker or m.worker, m.enrolments[i], start)
    hv.check_out(v, start + timedelta(minutes=minutes), [("clean", Decimal(1))])
    db.session.commit()
    return v


@pytest.fixture
def dash(app) -> Month:
    """Provider A with three elders (two in A_TOWN, one in B_TOWN), provider B with one in
    B_TOWN; visits in March (B's elder three times) and one in June, too short, so flagged,
    at local midnight of 1 June (31 May in UTC); call-backs on March's claims."""
    services.seed_reference_data(YEAR)  # last year's subsidy and price list
    provider = make_provider()
    other = make_provider("绵阳颐和居家养老服务有限公司", (B_TOWN,))
    m = Month(
        provider,
        other,
        boss=f.user("provider", provider_id=provider.id, username="kangle"),
        other_boss=f.user("provider", provider_id=other.id, username="yihe"),
        admin=f.user("admin", username="clerk"),
        auditor=f.user("auditor", username="shenji"),
        worker=f.user("worker", provider_id=provider.id, username="kangle_w1"),
        worker2=f.user("worker", provider_id=other.id, username="yihe_w1"),
    )
    for name, town, p in (
        ("李秀英", A_TOWN, provider),
        ("王德福", A_TOWN, provider),
        ("张桂兰", B_TOWN, provider),
        ("刘长林", B_TOWN, other),
    ):
        person = elder(name, town)
        m.elders.append(person)
        m.enrolments.append(enrol(person, p, YEAR))
    visit(m, 0, 3, 5, 9, 65)
    visit(m, 1, 3, 6, 9, 65)
    visit(m, 2, 3, 7, 9, 65)
    visit(m, 0, 6, 1, 0, 5)  # too short: flagged; 00:00 local is still May in UTC
    b_visits = [visit(m, 3, 3, day, 9, 65, worker=m.worker2) for day in (8, 9, 10)]
    claim = Claim(provider_id=other.id, month=f"{YEAR}-03", source=ClaimSource.GENERATED)
    mine = Claim(provider_id=provider.id, month=f"{YEAR}-03", source=ClaimSource.GENERATED)
    db.session.add_all([claim, mine])
    db.session.flush()
    a_visit = db.session.scalar(
        sa.select(Visit.id).where(Visit.provider_id == provider.id).limit(1)
    )
    when = at(4, 2, 10)
    for v, outcome in zip(
        b_visits, (CallbackOutcome.CONFIRMED, CallbackOutcome.NOT_DELIVERED, None), strict=True
    ):
        db.session.add(
            CallbackSample(
                visit_id=v.id,
                claim_id=claim.id,
                provider_id=other.id,
                reason=CallbackReason.CHANCE,
                outcome=outcome,
                recorded_at=when if outcome else None,
            )
        )
    db.session.add(
        CallbackSample(
            visit_id=a_visit,
            claim_id=mine.id,
            provider_id=provider.id,
            reason=CallbackReason.RISK,
            outcome=CallbackOutcome.COMPLAINT,
            recorded_at=when,
        )
    )
    db.session.commit()
    return m


def used(*enrolments) -> Decimal:
    """What the ledgers say was spent: minus the debits (and reversals)."""
    total = db.session.scalar(
        sa.select(sa.func.sum(LedgerEntry.amount)).where(
            LedgerEntry.enrolment_id.in_([e.id for e in enrolments]),
            LedgerEntry.kind.in_(["visit_debit", "reversal"]),
        )
    )
    return -Decimal(total).quantize(Decimal("0.01"))


def rows(html: str, testid: str) -> dict[str, list[str]]:
    """A section's table as {first cell: other cells}, tags stripped."""
    section = html.split(f'data-testid="{testid}"')[1].split("</section>")[0]
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    out = {}
    for tr in re.findall(r"<tr.*?</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        ]
        out[cells[0]] = cells[1:]
    return out


def test_page_and_api_give_the_years_figures(client, dash):
    m = dash
    a_used, b_used = used(*m.enrolments[:3]), used(m.enrolments[3])
    assert a_used > 0 and b_used > 0
    f.login(client, m.auditor)
    page = client.get(f"/homecare/dashboard?year={YEAR}")
    assert page.status_code == 200
    assert "js/homecare-dashboard.js" in page.text and "<script>" not in page.text
    providers = rows(page.text, "dash-providers")
    assert providers[m.provider.name] == ["¥900.00", f"¥{a_used:,.2f}"]
    assert providers[m.other.name] == ["¥300.00", f"¥{b_used:,.2f}"]
    towns = rows(page.text, "dash-townships")
    a_town_used = used(*m.enrolments[:2])
    assert sorted(towns.values()) == sorted(
        [[f"¥{a_town_used:,.2f}"], [f"¥{a_used - a_town_used + b_used:,.2f}"]]
    )
    months = rows(page.text, "dash-months")
    assert len(months) == 12
    assert months[f"{YEAR}-03"] == ["6", "0"]
    assert months[f"{YEAR}-06"] == ["1", "1"]
    assert months[f"{YEAR}-05"] == ["0", "0"]
    callbacks = rows(page.text, "dash-callbacks")
    assert [v[0] for v in callbacks.values()] == ["1", "1", "0", "1", "1"]

    r = client.get(f"/api/v1/homecare/figures?year={YEAR}", headers=f.headers(m.auditor))
    assert r.status_code == 200, r.json
    j = r.json
    by_provider = {p["provider_id"]: p for p in j["providers"]}
    assert by_provider[m.provider.id]["allocated"] == "900.00"
    assert by_provider[m.provider.id]["used"] == f"{a_used:.2f}"
    assert by_provider[m.other.id] == {
        "provider_id": m.other.id,
        "provider": m.other.name,
        "allocated": "300.00",
        "used": f"{b_used:.2f}",
    }
    by_town = {t["township_code"]: t for t in j["townships"]}
    assert set(by_town) == {A_TOWN, B_TOWN}
    assert by_town[A_TOWN]["used"] == f"{a_town_used:.2f}" and by_town[A_TOWN]["township"]
    assert by_town[B_TOWN]["used"] == f"{a_used - a_town_used + b_used:.2f}"
    by_month = {x["month"]: (x["visits"], x["flagged"]) for x in j["months"]}
    assert by_month[f"{YEAR}-03"] == (6, 0) and by_month[f"{YEAR}-06"] == (1, 1)
    assert sum(v for v, _ in by_month.values()) == 7
    assert j["callbacks"] == {
        "confirmed": 1,
        "not_delivered": 1,
        "unreachable": 0,
        "complaint": 1,
        "pending": 1,
    }
    # another year has nothing
    r = client.get(f"/api/v1/homecare/figures?year={YEAR - 1}", headers=f.headers(m.admin))
    assert r.status_code == 200
    assert all(p["used"] == "0.00" for p in r.json["providers"]) and not r.json["townships"]
    assert r.json["callbacks"]["pending"] == 0


def test_a_provider_sees_only_its_own(client, dash):
    m = dash
    a_used = used(*m.enrolments[:3])
    f.login(client, m.boss)
    page = client.get(f"/homecare/dashboard?year={YEAR}&provider_id={m.other.id}")
    assert page.status_code == 200
    assert m.other.name not in page.text
    assert list(rows(page.text, "dash-providers")) == [m.provider.name]
    assert rows(page.text, "dash-months")[f"{YEAR}-03"] == ["3", "0"]
    assert [v[0] for v in rows(page.text, "dash-callbacks").values()] == ["0", "0", "0", "1", "0"]
    r = client.get(
        f"/api/v1/homecare/figures?year={YEAR}&provider_id={m.other.id}", headers=f.headers(m.boss)
    )
    assert r.status_code == 200
    j = r.json
    assert [p["provider_id"] for p in j["providers"]] == [m.provider.id]
    assert j["providers"][0]["allocated"] == "900.00"
    assert j["providers"][0]["used"] == f"{a_used:.2f}"
    assert sum(Decimal(t["used"]) for t in j["townships"]) == a_used
    assert sum(x["visits"] for x in j["months"]) == 4
    assert j["callbacks"] == {
        "confirmed": 0,
        "not_delivered": 0,
        "unreachable": 0,
        "complaint": 1,
        "pending": 0,
    }
    r = client.get(f"/api/v1/homecare/figures?year={YEAR}", headers=f.headers(m.other_boss))
    assert [p["provider_id"] for p in r.json["providers"]] == [m.other.id]
    assert sum(x["visits"] for x in r.json["months"]) == 3


def test_workers_and_managers_are_refused(app, dash):
    home, _ = make_home("石马镇中心敬老院", beds=1)
    manager = f.user("manager", facility_id=home.id, username="mgr")
    for u in (dash.worker, manager):
        client = app.test_client()
        r = client.get("/api/v1/homecare/figures", headers=f.headers(u))
        assert r.status_code == 403
        f.login(client, u)
        assert client.get("/homecare/dashboard").status_code == 403


def test_the_figures_are_in_the_openapi_document(client, dash):
    doc = client.get("/api/v1/openapi.json").json
    assert "get" in doc["paths"]["/api/v1/homecare/figures"]


def test_every_menu_item_sits_in_its_features_section(app):
    """The menu groups items by their order (eldercare/templating.py NAV_SECTIONS): home
    care's pages, the dashboard with them, under 居家养老, the facilities' under 机构与床位."""
    from eldercare.registry import registry

    sections = {"facilities": range(20, 30), "homecare": range(30, 60)}
    with app.app_context():
        items = registry().nav
        misplaced = [
            (i.endpoint, i.order)
            for i in items
            if (package := app.view_functions[i.endpoint].__module__.split(".")[0]) in sections
            and i.order not in sections[package]
        ]
    assert misplaced == []
    assert "homecare.dashboard_page" in [i.endpoint for i in items]
