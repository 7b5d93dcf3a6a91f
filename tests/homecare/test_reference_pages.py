"""The bureau's reference-data pages (issue 17.1): providers with their contract
townships and dates, each year's price list and subsidy. The bureau adds and changes
them, an error stands under the field it names with what was typed kept, the auditor
reads without a form, no other role gets in; an enrolment outside a provider's
townships asks for its reason."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare import services
from homecare.models import Enrolment, Provider
from tests import factories as f

from .conftest import elder, make_provider

YEAR = local_today().year


def _as(client, role: str, **kw):
    f.login(client, f.user(role, **kw))
    return client


def _field_error(html: str, field_id: str) -> str:
    """The message under the field `field_id` (the form macro's invalid-feedback)."""
    at = html.index(f'id="{field_id}"')
    found = re.search(r'class="invalid-feedback d-block">([^<]+)<', html[at:])
    assert found, f"no error under {field_id}"
    return found.group(1)


def test_the_bureau_adds_and_edits_a_provider_on_its_pages(client, admin):
    f.login(client, admin)
    page = client.get("/homecare/providers")
    assert page.status_code == 200 and "新增服务组织" in page.text
    form = client.get("/homecare/providers/new")
    assert "涪江街道" in form.text and 'name="townships"' in form.text
    token = f.csrf(client, "/homecare/providers/new")
    r = client.post(
        "/homecare/providers/new",
        data={
            "csrf_token": token,
            "name": "游仙区安康居家养老服务中心",
            "phone": "0816-2212345",
            "contract_from": "2026-01-01",
            "contract_to": "2028-12-31",
            "townships": ["510704001", "510704003"],
        },
    )
    assert r.status_code == 302, r.text
    listed = client.get("/homecare/providers").text
    assert "游仙区安康居家养老服务中心" in listed and "涪江街道、富乐街道" in listed
    p = db.session.scalar(sa.select(Provider).where(Provider.name == "游仙区安康居家养老服务中心"))
    assert p.township_codes == ["510704001", "510704003"]

    r = client.post(
        f"/homecare/providers/{p.id}",
        data={
            "csrf_token": token,
            "name": p.name,
            "phone": "",
            "contract_from": "2026-01-01",
            "contract_to": "2027-06-30",
            "townships": ["510704004"],
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    p = db.session.get(Provider, p.id)
    assert p.township_codes == ["510704004"] and str(p.contract_to) == "2027-06-30"
    assert "游仙街道" in client.get("/homecare/providers?format=csv").get_data(as_text=True)
    log = client.get(
        f"/api/v1/audit?entity=providers&entity_id={p.id}", headers=f.headers(admin)
    ).json["items"]
    assert [e["action"] for e in log] == ["update", "create"]


def test_a_wrong_provider_form_shows_the_error_under_its_field(client, admin):
    make_provider("游仙区福寿居家养老服务中心")
    f.login(client, admin)
    token = f.csrf(client, "/homecare/providers/new")
    r = client.post(
        "/homecare/providers/new",
        data={
            "csrf_token": token,
            "name": "新组织",
            "contract_from": "2027-01-01",
            "contract_to": "2026-01-01",
            "townships": ["510704001"],
        },
    )
    assert r.status_code == 422
    assert _field_error(r.text, "contract_to") == "早于开始日期"
    assert (
        'value="新组织"' in r.text and 'value="510704001" id="township-510704001" checked' in r.text
    )  # what was typed is kept
    r = client.post(
        "/homecare/providers/new",
        data={"csrf_token": token, "name": "游仙区福寿居家养老服务中心", "townships": []},
    )
    assert r.status_code == 422 and _field_error(r.text, "name") == "已存在"
    assert db.session.scalar(sa.select(sa.func.count(Provider.id))) == 1


def test_the_auditor_reads_the_reference_pages_without_forms(client):
    p = make_provider()
    _as(client, "auditor")
    for url in (
        "/homecare/providers",
        f"/homecare/providers/{p.id}",
        "/homecare/prices",
        "/homecare/subsidy",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "csrf_token" not in page.text.split("</nav>", 1)[-1] or url.endswith("providers"), (
            url
        )  # no form to write with (the list's search form is a GET)
    assert "provider-details" in client.get(f"/homecare/providers/{p.id}").text
    assert "新增服务组织" not in client.get("/homecare/providers").text
    assert "price-form" not in client.get("/homecare/prices").text
    assert "subsidy-form" not in client.get("/homecare/subsidy").text
    token = f.csrf(client, "/homecare/providers")
    item = services.find_service(YEAR, "clean")
    posts = [
        client.post("/homecare/providers/new", data={"csrf_token": token, "name": "x"}),
        client.post(f"/homecare/providers/{p.id}", data={"csrf_token": token, "name": "x"}),
        client.post(
            "/homecare/prices",
            data={"csrf_token": token, "code": "JJ-01", "name": "x", "unit": "hour", "price": "1"},
        ),
        client.post(
            f"/homecare/prices/{item.id}",
            data={"csrf_token": token, "name": "x", "unit": "hour", "price": "1"},
        ),
        client.post("/homecare/subsidy", data={"csrf_token": token, "year": YEAR, "amount": "1"}),
    ]
    assert [r.status_code for r in posts] == [403] * len(posts)
    assert services.find_service(YEAR, "clean").price == Decimal("40.00")


@pytest.mark.parametrize("role", ["provider", "worker", "township"])
def test_other_roles_neither_see_nor_change_reference_data(client, role):
    p = make_provider()
    kw = {"township_code": "510704001"} if role == "township" else {"provider_id": p.id}
    _as(client, role, **kw)
    item = services.find_service(YEAR, "clean")
    for url in (
        "/homecare/providers",
        f"/homecare/providers/{p.id}",
        "/homecare/prices",
        f"/homecare/prices/{item.id}",
        "/homecare/subsidy",
    ):
        assert client.get(url).status_code == 403, url
    token = f.csrf(client, "/account/password" if role == "worker" else "/")
    r = client.post(
        f"/homecare/providers/{p.id}",
        data={"csrf_token": token, "name": "改名", "townships": ["510704003"]},
    )
    assert r.status_code == 403
    r = client.post(
        "/homecare/prices",
        data={"csrf_token": token, "code": "JJ-01", "name": "x", "unit": "hour", "price": "1"},
    )
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Provider, p.id).name == p.name
    assert services.find_service(YEAR, "JJ-01") is None


def test_the_bureau_keeps_the_years_price_list_and_subsidy(client, admin):
    f.login(client, admin)
    page = client.get(f"/homecare/prices?year={YEAR}")
    assert page.status_code == 200 and "助餐（送餐上门）" in page.text and "¥300.00" in page.text
    token = f.csrf(client, "/homecare/prices")
    r = client.post(
        f"/homecare/prices?year={YEAR}",
        data={
            "csrf_token": token,
            "code": "JJ-01",
            "name": "居家保洁",
            "unit": "hour",
            "price": "42.50",
        },
    )
    assert r.status_code == 302
    assert "JJ-01" in client.get(f"/homecare/prices?year={YEAR}").text
    # the same code in another case: under the code field, what was typed kept
    r = client.post(
        f"/homecare/prices?year={YEAR}",
        data={"csrf_token": token, "code": "jj-01", "name": "重复", "unit": "hour", "price": "1"},
    )
    assert r.status_code == 422 and _field_error(r.text, "code") == "已存在"
    assert 'value="重复"' in r.text
    r = client.post(
        f"/homecare/prices?year={YEAR}",
        data={"csrf_token": token, "code": "JJ 02", "name": "x", "unit": "hour", "price": "0"},
    )
    assert r.status_code == 422
    assert "横线" in _field_error(r.text, "code") and _field_error(r.text, "price")

    item = services.find_service(YEAR, "jj-01")
    r = client.post(
        f"/homecare/prices/{item.id}",
        data={"csrf_token": token, "name": "居家保洁", "unit": "hour", "price": "45.00"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert services.find_service(YEAR, "JJ-01").price == Decimal("45.00")
    csv = client.get(f"/homecare/prices?year={YEAR}&format=csv").get_data(as_text=True)
    assert "JJ-01" in csv and "45.00" in csv

    # a new year: empty, then copied from this one
    empty = client.get(f"/homecare/prices?year={YEAR + 1}")
    assert "还没有价目表" in empty.text
    client.post(
        f"/homecare/prices/copy?year={YEAR + 1}", data={"csrf_token": token, "from_year": YEAR}
    )
    assert "JJ-01" in client.get(f"/homecare/prices?year={YEAR + 1}").text

    r = client.post(
        "/homecare/subsidy", data={"csrf_token": token, "year": YEAR + 1, "amount": "360"}
    )
    assert r.status_code == 302
    assert services.subsidy_for(YEAR + 1) == Decimal("360.00")
    assert "¥360.00" in client.get("/homecare/subsidy").text
    r = client.post("/homecare/subsidy", data={"csrf_token": token, "year": YEAR, "amount": "-5"})
    assert r.status_code == 422 and _field_error(r.text, "amount")


def test_the_enrolment_form_asks_for_the_reason_outside_the_townships(client, admin):
    provider = make_provider(townships=("510704001",))
    person = elder("王德福", township="510704003")
    f.login(client, admin)
    page = client.get("/homecare/enrolments")
    assert 'id="outside_reason"' in page.text
    token = f.csrf(client, "/homecare/enrolments")
    data = {"csrf_token": token, "person_id": person.id, "provider_id": provider.id, "year": YEAR}
    r = client.post("/homecare/enrolments", data=data, follow_redirects=True)
    assert "跨乡镇服务理由" in r.text  # the field named in the message
    assert (
        db.session.scalar(sa.select(Enrolment.id).where(Enrolment.person_id == person.id)) is None
    )
    r = client.post("/homecare/enrolments", data=data | {"outside_reason": "离家最近的组织"})
    assert r.status_code == 302
    e = db.session.scalar(sa.select(Enrolment).where(Enrolment.person_id == person.id))
    assert e.outside_reason == "离家最近的组织"
    assert "离家最近的组织" in client.get(f"/homecare/enrolments/{e.id}").text
