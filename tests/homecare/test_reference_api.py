"""Reference data through the API (issue 17.1, API.md "Lifecycles"): providers carry
their contract townships and dates and are changed with PATCH; service codes are the
bureau's (`JJ-01`), matched ignoring case and unique per year ignoring case in the
database; an enrolment outside the provider's townships needs a stated reason; the
bureau writes, the auditor reads, no other role writes."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare import services
from homecare.models import Enrolment, ProviderTownship, Service, Unit
from tests import factories as f

from .conftest import elder, make_provider, now, scan

API = "/api/v1/homecare"
YEAR = local_today().year


def _audit(client, headers, entity: str, entity_id) -> list[dict]:
    r = client.get(f"/api/v1/audit?entity={entity}&entity_id={entity_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json["items"]


def test_a_provider_carries_its_townships_and_contract_dates(client, admin_headers):
    r = client.post(
        f"{API}/providers",
        headers=admin_headers,
        json={
            "name": "游仙区安康居家养老服务中心",
            "townships": ["510704001", "510704003"],
            "contract_from": "2026-01-01",
            "contract_to": "2028-12-31",
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json["id"]
    assert r.json["townships"] == ["510704001", "510704003"]
    assert (r.json["contract_from"], r.json["contract_to"]) == ("2026-01-01", "2028-12-31")
    items = client.get(f"{API}/providers", headers=admin_headers).json["items"]  # list shape
    listed = {p["id"]: p for p in items}
    assert listed[pid]["townships"] == ["510704001", "510704003"]

    r = client.patch(
        f"{API}/providers/{pid}",
        headers=admin_headers,
        json={"townships": ["510704003", "510704006"], "contract_to": "2027-06-30"},
    )
    assert r.status_code == 200, r.text
    assert r.json["townships"] == ["510704003", "510704006"]
    assert r.json["contract_to"] == "2027-06-30" and r.json["contract_from"] == "2026-01-01"
    assert r.json["name"] == "游仙区安康居家养老服务中心"  # what the body leaves out stays
    shown = client.get(f"{API}/providers/{pid}", headers=admin_headers).json
    assert shown["townships"] == ["510704003", "510704006"]
    # null clears a date
    r = client.patch(f"{API}/providers/{pid}", headers=admin_headers, json={"contract_to": None})
    assert r.status_code == 200 and r.json["contract_to"] is None

    # audited: the provider's change, and each contract township added and taken away
    log = _audit(client, admin_headers, "providers", pid)
    assert {e["action"] for e in log} >= {"create", "update"}
    towns = client.get("/api/v1/audit?entity=provider_townships", headers=admin_headers).json
    assert {e["action"] for e in towns["items"]} >= {"create", "delete"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contract_from": "2027-01-01", "contract_to": "2026-12-31"}, "contract_to"),
        ({"townships": ["510704001", "999999999"]}, "townships"),
        ({"name": "游仙区福寿居家养老服务中心"}, "name"),
    ],
)
def test_a_wrong_provider_change_names_its_field_and_changes_nothing(
    client, admin_headers, body, field
):
    make_provider("游仙区福寿居家养老服务中心")
    p = make_provider("游仙区康乐居家养老服务中心")
    r = client.patch(f"{API}/providers/{p.id}", headers=admin_headers, json=body)
    assert r.status_code in (409, 422), r.text
    assert field in r.json["error"]["fields"], r.json
    again = client.get(f"{API}/providers/{p.id}", headers=admin_headers).json
    assert again["townships"] == ["510704001"] and again["name"] == "游仙区康乐居家养老服务中心"
    assert again["contract_to"] == "2026-12-31"


def test_a_new_provider_with_dates_out_of_order_names_contract_to(client, admin_headers):
    r = client.post(
        f"{API}/providers",
        headers=admin_headers,
        json={
            "name": "新组织",
            "townships": [],
            "contract_from": "2027-01-01",
            "contract_to": "2026-01-01",
        },
    )
    assert r.status_code == 422 and "contract_to" in r.json["error"]["fields"]


@pytest.mark.parametrize("role", ["provider", "worker", "manager", "township", "auditor"])
def test_only_the_bureau_writes_reference_data(client, role, admin_headers):
    p = make_provider()
    kw = {
        "provider": {"provider_id": p.id},
        "worker": {"provider_id": p.id},
        "township": {"township_code": "510704001"},
    }.get(role, {})
    if role == "manager":
        fac = client.post(
            "/api/v1/facilities",
            headers=admin_headers,
            json={"name": "测试敬老院", "kind": "care_home"},
        )
        kw = {"facility_id": fac.json["id"]}
    h = f.headers(f.user(role, **kw))
    item = services.find_service(YEAR, "clean")
    calls = [
        client.post(f"{API}/providers", headers=h, json={"name": "x", "townships": []}),
        client.patch(f"{API}/providers/{p.id}", headers=h, json={"townships": ["510704003"]}),
        client.post(
            f"{API}/services",
            headers=h,
            json={"code": "JJ-01", "name": "x", "unit": "hour", "price": "1.00"},
        ),
        client.patch(f"{API}/services/{item.id}", headers=h, json={"price": "1.00"}),
        client.post(f"{API}/services/copy", headers=h, json={"year": YEAR + 1, "from_year": YEAR}),
        client.put(f"{API}/subsidy/{YEAR}", headers=h, json={"amount": "1.00"}),
    ]
    assert [c.status_code for c in calls] == [403] * len(calls)
    db.session.expire_all()
    assert services.find_service(YEAR, "clean").price == Decimal("40.00")
    assert services.subsidy_for(YEAR) == Decimal("300.00")
    assert p.township_codes == ["510704001"]
    subsidy = client.get(f"{API}/subsidy", headers=h)
    assert subsidy.status_code == (200 if role == "auditor" else 403)


def test_the_bureau_writes_what_the_others_may_not(client, admin_headers):
    """The other side of the boundary: the same calls succeed for the bureau."""
    p = make_provider()
    item = services.find_service(YEAR, "clean")
    assert (
        client.patch(
            f"{API}/providers/{p.id}", headers=admin_headers, json={"townships": ["510704003"]}
        ).status_code
        == 200
    )
    assert (
        client.patch(
            f"{API}/services/{item.id}", headers=admin_headers, json={"price": "45.00"}
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"{API}/subsidy/{YEAR + 1}", headers=admin_headers, json={"amount": "360.00"}
        ).status_code
        == 200
    )
    r = client.get(f"{API}/subsidy", headers=admin_headers)
    assert {"year": YEAR + 1, "amount": "360.00"} in r.json
    assert client.get(f"{API}/services", headers=admin_headers).json  # seeded year


def test_a_provider_sees_only_its_own_provider(client):
    mine, theirs = make_provider(), make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
    h = f.headers(f.user("provider", provider_id=mine.id))
    assert client.get(f"{API}/providers/{mine.id}", headers=h).status_code == 200
    assert client.get(f"{API}/providers/{theirs.id}", headers=h).status_code == 404


# --- service codes ------------------------------------------------------------------------


def test_codes_as_the_catalogue_writes_them_unique_ignoring_case(client, admin_headers):
    body = {"code": "JJ-01", "name": "居家保洁", "unit": "hour", "price": "40.00", "year": YEAR}
    r = client.post(f"{API}/services", headers=admin_headers, json=body)
    assert r.status_code == 201 and r.json["code"] == "JJ-01"
    again = client.post(f"{API}/services", headers=admin_headers, json=body | {"code": "jj-01"})
    assert again.status_code == 409 and "code" in again.json["error"]["fields"]
    for bad in ("JJ 01", "jj.01", "助浴", ""):
        r = client.post(f"{API}/services", headers=admin_headers, json=body | {"code": bad})
        assert r.status_code == 422 and "code" in r.json["error"]["fields"], bad
    # another year may have it
    assert (
        client.post(
            f"{API}/services",
            headers=admin_headers,
            json=body | {"code": "jj-01", "year": YEAR + 1},
        ).status_code
        == 201
    )
    assert services.find_service(YEAR, "jJ-01").code == "JJ-01"


def test_the_database_refuses_two_codes_differing_only_by_case(app):
    db.session.add(
        Service(year=YEAR, code="JJ-02", name="a", unit=Unit.HOUR, price=Decimal("1.00"))
    )
    db.session.commit()
    db.session.add(
        Service(year=YEAR, code="jj-02", name="b", unit=Unit.HOUR, price=Decimal("1.00"))
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_scan_picks_a_code_in_any_case_and_keeps_the_catalogues(client, world):
    services.add_service(YEAR, "JJ-01", "居家保洁", "hour", Decimal("40.00"))
    db.session.commit()
    start = now() - timedelta(hours=2)
    assert scan(client, world.worker, world.qr, at=start).status_code == 201
    r = scan(
        client,
        world.worker,
        world.qr,
        "check_out",
        at=start + timedelta(minutes=70),
        services=[{"code": "jj-01", "quantity": 1}, {"code": "MEAL", "quantity": 1}],
    )
    assert r.status_code == 201, r.json
    assert [(s["code"], s["unit_price"]) for s in r.json["services"]] == [
        ("JJ-01", "40.00"),
        ("meal", "30.00"),
    ]
    assert r.json["amount"] == "70.00"


def test_patching_an_item_changes_its_price_and_keeps_its_code(client, admin_headers):
    item = services.find_service(YEAR, "clean")
    r = client.patch(
        f"{API}/services/{item.id}", headers=admin_headers, json={"price": "42.50", "name": "保洁"}
    )
    assert r.status_code == 200 and r.json["price"] == "42.50" and r.json["code"] == "clean"
    bad = client.patch(f"{API}/services/{item.id}", headers=admin_headers, json={"price": "0"})
    assert bad.status_code == 422 and "price" in bad.json["error"]["fields"]
    assert (
        client.patch(
            f"{API}/services/{item.id}", headers=admin_headers, json={"code": "x"}
        ).status_code
        == 422
    )  # the code cannot change
    log = _audit(client, admin_headers, "services", item.id)
    assert any(e["action"] == "update" for e in log)


def test_a_year_starts_its_list_from_another(client, admin_headers):
    r = client.post(
        f"{API}/services/copy", headers=admin_headers, json={"year": YEAR + 1, "from_year": YEAR}
    )
    assert r.status_code == 201 and {s["code"] for s in r.json} >= {"meal", "clean"}
    again = client.post(
        f"{API}/services/copy", headers=admin_headers, json={"year": YEAR + 1, "from_year": YEAR}
    )
    assert again.status_code == 409
    none = client.post(
        f"{API}/services/copy", headers=admin_headers, json={"year": YEAR + 2, "from_year": 2001}
    )
    assert none.status_code == 422 and "from_year" in none.json["error"]["fields"]


# --- enrolment outside the contract townships ---------------------------------------------


def test_enrolling_outside_the_contract_townships_needs_a_reason(client, admin_headers):
    provider = make_provider(townships=("510704001",))
    inside, outside = elder("李秀英"), elder("王德福", township="510704003")
    body = {"provider_id": provider.id, "year": YEAR}
    r = client.post(
        f"{API}/enrolments", headers=admin_headers, json=body | {"person_id": inside.id}
    )
    assert r.status_code == 201 and r.json["outside_reason"] is None
    r = client.post(
        f"{API}/enrolments", headers=admin_headers, json=body | {"person_id": outside.id}
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "outside_townships"
    assert "outside_reason" in r.json["error"]["fields"]
    assert (
        client.post(
            f"{API}/enrolments",
            headers=admin_headers,
            json=body | {"person_id": outside.id, "outside_reason": "   "},
        ).status_code
        == 422
    )
    assert (
        db.session.scalar(sa.select(Enrolment.id).where(Enrolment.person_id == outside.id)) is None
    )
    r = client.post(
        f"{API}/enrolments",
        headers=admin_headers,
        json=body
        | {"person_id": outside.id, "outside_reason": "老人住在乡镇交界，原服务组织离家更近"},
    )
    assert r.status_code == 201, r.text
    assert r.json["outside_reason"] == "老人住在乡镇交界，原服务组织离家更近"
    assert r.json["ledger"]["balance"] == "300.00"
    shown = client.get(f"{API}/enrolments/{r.json['id']}", headers=admin_headers).json
    assert shown["outside_reason"] == "老人住在乡镇交界，原服务组织离家更近"


def test_the_migration_gives_existing_providers_the_townships_they_serve(app):
    """homecare_0007's data step: a provider without townships gets those of its active
    enrolments, on top of those it had; ended enrolments and other providers do not
    count; run twice, nothing doubles."""
    migration = importlib.import_module("homecare.migrations.homecare_0007_reference_data")
    old = make_provider("老组织", townships=())
    other = make_provider("另一组织", townships=("510704006",))
    for name, town in (("甲", "510704001"), ("乙", "510704003"), ("丙", "510704003")):
        services.enrol(elder(name, township=town), old, YEAR, on=date(YEAR, 1, 1))
    ended = services.enrol(elder("丁", township="510704004"), old, YEAR, on=date(YEAR, 1, 1))
    services.end_enrolment(ended, date(YEAR, 1, 2), "moved")
    services.enrol(elder("戊", township="510704101"), other, YEAR, on=date(YEAR, 1, 1))
    db.session.commit()
    for _ in range(2):
        db.session.execute(migration._SERVED)
    db.session.commit()
    rows = db.session.execute(
        sa.select(ProviderTownship.provider_id, ProviderTownship.township_code)
    ).all()
    assert sorted(c for p, c in rows if p == old.id) == ["510704001", "510704003"]
    assert sorted(c for p, c in rows if p == other.id) == ["510704006", "510704101"]
