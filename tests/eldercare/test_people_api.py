"""API.md "People", "Audit", errors and the OpenAPI document."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from eldercare.extensions import db
from eldercare.people import services as people_services
from eldercare.timeutil import local_today
from tests import factories as f


def post_person(client, h, **kw):
    body = {"name": "王德福", "id_number": "510704193506176511"} | kw
    return client.post("/api/v1/people", json=body, headers=h)


def test_a_person_gets_birth_date_and_sex_from_the_id_number(client, admin_headers):
    resp = post_person(client, admin_headers, id_number="11010519491231002x")
    assert resp.status_code == 201
    body = resp.json
    assert body["id_number"] == "11010519491231002X"
    assert body["birth_date"] == "1949-12-31" and body["sex"] == "F"
    assert body["status"] == "active"


def test_a_fifteen_digit_number_is_stored_as_eighteen(client, admin_headers):
    resp = post_person(client, admin_headers, id_number="510704561015300")
    assert resp.status_code == 201
    assert len(resp.json["id_number"]) == 18
    assert resp.json["birth_date"] == "1956-10-15"


@pytest.mark.parametrize(
    "bad",
    [
        "360426199101010072",
        "360426199113010079",
        "440308199902301512",
        "990426199112010074",
        "12345",
        "5.10704195710189E+17",
    ],
)
def test_invalid_id_numbers_are_422_naming_the_field(client, admin_headers, bad):
    resp = post_person(client, admin_headers, id_number=bad)
    assert resp.status_code == 422
    assert "id_number" in resp.json["error"]["fields"]


def test_an_elder_born_before_the_district_existed_is_valid(client, admin_headers):
    assert post_person(client, admin_headers, id_number="510704194503120218").status_code == 201


def test_the_same_id_number_twice_is_409(client, admin_headers):
    assert post_person(client, admin_headers).status_code == 201
    resp = post_person(client, admin_headers, name="另一人")
    assert resp.status_code == 409


def test_missing_fields_are_422_with_each_field_named(client, admin_headers):
    resp = client.post("/api/v1/people", json={"phone": "1"}, headers=admin_headers)
    assert resp.status_code == 422
    assert {"name", "id_number"} <= set(resp.json["error"]["fields"])


def test_malformed_json_is_400_in_the_contract_shape(client, admin_headers):
    resp = client.post(
        "/api/v1/people",
        data="{not json",
        headers=admin_headers | {"Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "malformed_request"


def test_wrong_method_and_unknown_path_answer_json_errors(client, admin_headers):
    r405 = client.delete("/api/v1/people", headers=admin_headers)
    assert r405.status_code == 405 and r405.json["error"]["code"] == "method_not_allowed"
    r404 = client.get("/api/v1/nothing-here", headers=admin_headers)
    assert r404.status_code == 404 and r404.json["error"]["code"] == "not_found"


def test_unknown_person_is_404(client, admin_headers):
    assert client.get("/api/v1/people/999999", headers=admin_headers).status_code == 404


def test_search_by_name_and_by_id_number_and_pagination(client, admin_headers, make_person):
    for i in range(7):
        make_person(name=f"李秀英{i}")
    target = make_person(name="赵大山")
    r = client.get("/api/v1/people?q=李秀英&per_page=5", headers=admin_headers).json
    assert r["total"] == 7 and len(r["items"]) == 5 and r["page"] == 1 and r["per_page"] == 5
    r2 = client.get("/api/v1/people?q=李秀英&per_page=5&page=2", headers=admin_headers).json
    assert len(r2["items"]) == 2
    by_id = client.get(f"/api/v1/people?q={target.id_number}", headers=admin_headers).json
    assert [p["name"] for p in by_id["items"]] == ["赵大山"]
    assert client.get("/api/v1/people?per_page=501", headers=admin_headers).status_code == 400


def test_lists_mask_id_numbers_and_single_reads_by_the_bureau_are_audited(
    client, admin_headers, make_person
):
    p = make_person()
    item = client.get("/api/v1/people", headers=admin_headers).json["items"][0]
    assert re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", item["id_number"])
    full = client.get(f"/api/v1/people/{p.id}", headers=admin_headers).json["id_number"]
    assert full == p.id_number
    log = client.get(f"/api/v1/audit?entity=people&entity_id={p.id}", headers=admin_headers).json
    assert "view_id_number" in [e["action"] for e in log["items"]]


def test_sql_looking_search_strings_are_just_text(client, admin_headers, make_person):
    make_person(name="王五")
    for q in ("' OR 1=1 --", "%", "_", "王%' --"):
        r = client.get("/api/v1/people", query_string={"q": q}, headers=admin_headers)
        assert r.status_code == 200 and r.json["total"] == 0


def test_wubao_support_and_death_end_what_should_end(client, admin_headers, make_person):
    p = make_person()
    r = client.post(
        f"/api/v1/people/{p.id}/wubao",
        headers=admin_headers,
        json={"category": "elderly", "support": "dispersed", "since": "2024-01-01"},
    )
    assert r.status_code == 201 and r.json["support"] == "dispersed"
    r = client.post(
        f"/api/v1/people/{p.id}/death", json={"date": "2026-03-02"}, headers=admin_headers
    )
    assert r.status_code == 200
    assert r.json["status"] == "deceased" and r.json["death_date"] == "2026-03-02"
    assert r.json["wubao"] is None
    again = client.post(
        f"/api/v1/people/{p.id}/death", json={"date": "2026-03-02"}, headers=admin_headers
    )
    assert again.status_code == 409


def test_a_death_in_the_future_is_refused(client, admin_headers, make_person):
    p = make_person()
    r = client.post(
        f"/api/v1/people/{p.id}/death", json={"date": "2999-01-01"}, headers=admin_headers
    )
    assert r.status_code == 422 and "date" in r.json["error"]["fields"]


def test_the_overview_counts_wubao_on_a_past_date_from_history(client, admin_headers, make_person):
    a, b = make_person(), make_person()
    for p, support in ((a, "centralized"), (b, "dispersed")):
        client.post(
            f"/api/v1/people/{p.id}/wubao",
            headers=admin_headers,
            json={"category": "elderly", "support": support, "since": "2025-01-01"},
        )
    client.post(f"/api/v1/people/{b.id}/death", json={"date": "2026-02-01"}, headers=admin_headers)
    now = client.get("/api/v1/stats/overview", headers=admin_headers).json["wubao"]
    assert now["total"] == 1 and now["centralized_rate"] == "1.000"
    then = client.get("/api/v1/stats/overview?date=2025-06-01", headers=admin_headers).json
    assert then["date"] == "2025-06-01"
    assert then["wubao"]["total"] == 2 and then["wubao"]["centralized_rate"] == "0.500"


def test_every_write_leaves_an_audit_entry_with_before_and_after(
    client, admin_headers, make_person
):
    p = make_person(name="旧名")
    body = {"name": "新名", "id_number": p.id_number}
    assert client.put(f"/api/v1/people/{p.id}", json=body, headers=admin_headers).status_code == 200
    log = client.get(
        f"/api/v1/audit?entity=people&entity_id={p.id}&action=update", headers=admin_headers
    ).json["items"]
    assert log[0]["changes"]["name"] == ["旧名", "新名"]
    assert log[0]["user"] == "admin"


@pytest.mark.parametrize("role", ["manager", "provider", "worker"])
def test_only_readers_see_the_audit_log(app, client, role):
    u = f.scoped_user(client, role)
    assert client.get("/api/v1/audit", headers=f.headers(u)).status_code == 403


def test_the_auditor_reads_the_audit_log_but_writes_nothing(client, make_user):
    u = make_user("auditor")
    h = f.headers(u)
    assert client.get("/api/v1/audit", headers=h).status_code == 200
    assert (
        client.post(
            "/api/v1/people", json={"name": "x", "id_number": f.new_id_number()}, headers=h
        ).status_code
        == 403
    )


def test_openapi_document_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint != "core_api.openapi_document":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                assert (m, path) in documented, f"{m} {path} is not in the OpenAPI document"
    post = spec["paths"]["/api/v1/people"]["post"]
    assert "requestBody" in post and "201" in post["responses"]


def test_healthz_needs_no_login(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_regions_answer_for_a_date_before_and_after_the_reform(client, admin_headers):
    today = client.get("/api/v1/regions?level=township", headers=admin_headers).json
    before = client.get(
        "/api/v1/regions?level=township&date=2019-06-01", headers=admin_headers
    ).json
    assert (today["total"], before["total"]) == (14, 25)  # the list shape (issue 17.10)
    today, before = today["items"], before["items"]
    assert len(today) == 14 and len(before) == 25
    ended = [r for r in before if r["valid_to"] == "2019-12-31"]
    assert ended and all(r["successor_code"] for r in ended)


# --- issue 13.1: a masked number is not refilled ---------------------------------------
# The eight stars of 510704********3039 are the birth date: a role that may not see a
# full number gets neither it nor anything else that fills them (age and birth year do
# not), in the API, the pages, the exports and the audit log.

BORN = date(1946, 6, 7)


def _birth_forms(d: date = BORN) -> list[str]:
    return [
        d.isoformat(),
        f"{d:%Y%m%d}",
        f"{d:%Y/%m/%d}",
        f"{d.year}年{d.month}月{d.day}日",
        f"{d:%Y年%m月%d日}",
        f"{d:%Y.%m.%d}",
    ]


def _text(resp) -> str:
    """What a user of the response reads: xlsx cells too (a date cell is not text)."""
    if resp.mimetype.endswith("spreadsheetml.sheet"):
        book = load_workbook(io.BytesIO(resp.get_data()))
        return "\n".join(
            str(c)
            for ws in book
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c is not None
        )
    return resp.get_data(as_text=True)


def _no_birth_date(resp, where: str) -> None:
    text = _text(resp)
    assert not any(form in text for form in _birth_forms()), where
    if "T00:00:00" in text or "00:00:00" in text:
        assert "1946-06-07 00:00:00" not in text, where


@pytest.fixture
def enrolled(app):
    """An elder born on 7 June 1946, enrolled with a provider; its admin and a worker."""
    from tests.homecare.conftest import enrol, make_provider

    provider = make_provider()
    elder = f.person("王德福", birth=BORN, township_code="510704001")
    enrolment = enrol(elder, provider)
    boss = f.user("provider", provider_id=provider.id)
    worker = f.user("worker", provider_id=provider.id)
    return elder, enrolment, boss, worker


def test_a_provider_gets_age_and_birth_year_instead_of_the_birth_date(client, enrolled):
    elder, _e, boss, _w = enrolled
    h = f.headers(boss)
    one = client.get(f"/api/v1/people/{elder.id}", headers=h)
    assert one.status_code == 200
    assert "birth_date" not in one.json
    assert one.json["birth_year"] == 1946 and one.json["age"] == elder.age_on(local_today())
    assert re.fullmatch(r"510704\*{8}\d{3}[\dX]", one.json["id_number"])
    listing = client.get("/api/v1/people", headers=h).json["items"]
    assert [p["birth_year"] for p in listing] == [1946]
    assert all("birth_date" not in p for p in listing)
    _no_birth_date(one, "API person")


def test_the_bureau_keeps_the_birth_date(client, admin_headers, enrolled):
    elder, *_ = enrolled
    one = client.get(f"/api/v1/people/{elder.id}", headers=admin_headers).json
    assert one["birth_date"] == "1946-06-07" and one["birth_year"] == 1946
    listing = client.get("/api/v1/people", headers=admin_headers).json["items"]
    assert listing[0]["birth_date"] == "1946-06-07"


def test_a_manager_keeps_the_birth_date_of_a_resident(client, enrolled):
    from facilities import services as fac

    elder, *_ = enrolled
    home = fac.create_facility("魏城镇敬老院", "care_home")
    bed = fac.add_bed(home, "01")
    fac.admit(elder, bed, local_today())
    db.session.commit()
    mgr = f.user("manager", facility_id=home.id)
    one = client.get(f"/api/v1/people/{elder.id}", headers=f.headers(mgr)).json
    assert one["birth_date"] == "1946-06-07" and one["id_number"] == elder.id_number


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_pages_and_exports_give_a_provider_no_birth_date(client, enrolled, fmt):
    elder, _e, boss, _w = enrolled
    f.login(client, boss)
    show = client.get(f"/people/{elder.id}")
    assert show.status_code == 200 and "1946" in show.text
    _no_birth_date(show, "person page")
    index = client.get("/people")
    assert elder.name in index.text
    _no_birth_date(index, "people list")
    for path in ("/people", "/homecare/enrolments", "/homecare/visits"):
        export = client.get(f"{path}?format={fmt}")
        assert export.status_code == 200, path
        _no_birth_date(export, path)
    export = client.get(f"/people?format={fmt}")
    assert "出生年份" in _text(export) and "出生日期" not in _text(export)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_bureaus_export_keeps_the_birth_date(client, admin, enrolled, fmt):
    f.login(client, admin)
    text = _text(client.get(f"/people?format={fmt}"))
    assert "出生日期" in text and ("1946-06-07" in text)


def test_a_worker_reads_no_birth_date_anywhere(client, enrolled):
    from homecare import cards

    elder, enrolment, _b, worker = enrolled
    h = f.headers(worker)
    for path in (
        f"/api/v1/people/{elder.id}",
        "/api/v1/people",
        "/api/v1/homecare/visits",
        f"/api/v1/homecare/enrolments/{enrolment.id}/ledger",
    ):
        _no_birth_date(client.get(path, headers=h), path)
    f.login(client, worker)
    card = client.get("/" + cards.url(enrolment).split("/", 3)[3])
    assert card.status_code == 200 and elder.name in card.text
    _no_birth_date(card, "card page")
    _no_birth_date(client.get("/scan/manual"), "manual page")


def test_a_manager_outside_scope_sees_no_birth_date_of_a_waiting_applicant(client, enrolled):
    from facilities import services as fac

    elder, *_ = enrolled
    people_services.start_wubao(
        elder, "elderly", "dispersed", date(2024, 1, 1), applied_centralized_on=date(2024, 2, 1)
    )
    home = fac.create_facility("魏城镇敬老院", "care_home")
    bed = fac.add_bed(home, "01")
    db.session.commit()
    mgr = f.user("manager", facility_id=home.id)
    f.login(client, mgr)
    page = client.get(f"/facilities/{home.id}/beds/{bed.id}")
    assert page.status_code == 200 and elder.name in page.text  # the waiting list
    _no_birth_date(page, "admit form")
    assert client.get(f"/api/v1/people/{elder.id}", headers=f.headers(mgr)).status_code == 404


def test_the_audit_log_keeps_only_the_birth_year(client, admin_headers):
    number = f.new_id_number(BORN)
    r = post_person(client, admin_headers, id_number=number)
    pid = r.json["id"]
    corrected = f.new_id_number(date(1947, 8, 9))
    r = client.put(
        f"/api/v1/people/{pid}",
        json={"name": "王德福", "id_number": corrected},
        headers=admin_headers,
    )
    assert r.status_code == 200
    log = client.get(f"/api/v1/audit?entity=people&entity_id={pid}", headers=admin_headers)
    _no_birth_date(log, "audit")
    assert "1947-08-09" not in log.text and "19470809" not in log.text
    entries = {e["action"]: e["changes"] for e in log.json["items"]}
    created = client.get("/api/v1/audit?entity=people&action=create", headers=admin_headers)
    _no_birth_date(created, "audit of the creation")
    assert created.json["items"][0]["changes"]["birth_date"] == "1946-**-**"
    entries["create"] = created.json["items"][0]["changes"]
    assert entries["create"]["id_number"] == number[:6] + "*" * 8 + number[-4:]
    assert entries["update"]["birth_date"] == ["1946-**-**", "1947-**-**"]


def test_the_roster_import_keeps_only_the_birth_year_in_the_audit_log(client, admin_headers):
    number = f.new_id_number(BORN)
    body = f"姓名,身份证号\n王德福,{number}\n".encode()
    r = client.post(
        "/api/v1/people/import",
        headers=admin_headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(body), "roster.csv")},
    )
    assert r.status_code == 201, r.json
    log = client.get("/api/v1/audit?entity=people", headers=admin_headers)
    assert "1946-**-**" in log.text
    _no_birth_date(log, "import audit")


# --- issue 14.1: the elder's home point -------------------------------------------------


def _point(body) -> tuple:
    """The home point as numbers (the test client reads JSON numbers as Decimal)."""
    return tuple(None if body[k] is None else float(body[k]) for k in ("home_lat", "home_lng"))


def test_a_person_is_registered_with_a_home_point(client, admin_headers):
    r = post_person(client, admin_headers, home_lat=31.4601, home_lng=104.7902)
    assert r.status_code == 201, r.json
    assert _point(r.json) == (31.4601, 104.7902)
    r = post_person(client, admin_headers, id_number=f.new_id_number())
    assert _point(r.json) == (None, None)


@pytest.mark.parametrize(
    ("point", "field"),
    [
        ({"home_lat": 91, "home_lng": 104.79}, "home_lat"),
        ({"home_lat": -90.5, "home_lng": 104.79}, "home_lat"),
        ({"home_lat": 31.46, "home_lng": 180.01}, "home_lng"),
        ({"home_lat": 31.46}, "home_lng"),
        ({"home_lng": 104.79}, "home_lat"),
        ({"home_lat": "北纬31度", "home_lng": 104.79}, "home_lat"),
    ],
)
def test_a_bad_home_point_is_422_naming_the_field(client, admin_headers, point, field):
    r = post_person(client, admin_headers, **point)
    assert r.status_code == 422 and field in r.json["error"]["fields"], r.json
    assert client.get("/api/v1/people", headers=admin_headers).json["total"] == 0


def test_nan_is_no_home_point(client, admin_headers):
    r = client.post(
        "/api/v1/people",
        headers={**admin_headers, "Content-Type": "application/json"},
        data='{"name": "王德福", "id_number": "510704193506176511", '
        '"home_lat": NaN, "home_lng": 104.79}',
    )
    assert r.status_code in (400, 422) and r.status_code != 201


def test_patch_changes_only_what_it_names_and_is_audited(client, admin_headers, make_person):
    p = make_person("王德福", phone="13800000000", health_notes="高血压")
    r = client.patch(
        f"/api/v1/people/{p.id}",
        json={"home_lat": 31.46, "home_lng": 104.79},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.json
    assert (*_point(r.json), r.json["phone"]) == (31.46, 104.79, "13800000000")
    assert r.json["health_notes"] == "高血压" and r.json["name"] == "王德福"
    r = client.patch(
        f"/api/v1/people/{p.id}",
        headers=admin_headers,
        json={
            "name": "王德富",
            "phone": "13900000000",
            "address": "魏城镇魏城村3组",
            "township_code": "510704104",
            "care_level": "partial",
        },
    )
    assert r.status_code == 200, r.json
    body = r.json
    assert (
        body["name"],
        body["phone"],
        body["address"],
        body["township_code"],
        body["care_level"],
        _point(body)[0],
    ) == ("王德富", "13900000000", "魏城镇魏城村3组", "510704104", "partial", 31.46)
    log = client.get(
        f"/api/v1/audit?entity=people&entity_id={p.id}&action=update", headers=admin_headers
    ).json["items"]
    changes = {k: v for e in reversed(log) for k, v in e["changes"].items()}
    assert [None if v is None else float(v) for v in changes["home_lat"]] == [None, 31.46]
    assert changes["name"] == ["王德福", "王德富"]
    assert changes["township_code"] == [None, "510704104"]
    r = client.patch(
        f"/api/v1/people/{p.id}", json={"home_lat": None, "home_lng": None}, headers=admin_headers
    )
    assert _point(r.json) == (None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"home_lat": 31.46}, "home_lng"),
        ({"home_lat": 95, "home_lng": 104.79}, "home_lat"),
        ({"township_code": "999999999"}, "township_code"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"id_number": "510704193506176511"}, "id_number"),
        ({"health_notes": "x"}, "health_notes"),
    ],
)
def test_a_bad_patch_is_422_and_changes_nothing(client, admin_headers, make_person, body, field):
    p = make_person("王德福")
    r = client.patch(f"/api/v1/people/{p.id}", json=body, headers=admin_headers)
    assert r.status_code == 422 and field in str(r.json["error"]), r.json
    after = client.get(f"/api/v1/people/{p.id}", headers=admin_headers).json
    assert (after["name"], after["home_lat"]) == ("王德福", None)


def test_a_put_without_the_home_point_keeps_it(client, admin_headers, make_person):
    p = make_person("王德福")
    client.patch(
        f"/api/v1/people/{p.id}",
        json={"home_lat": 31.46, "home_lng": 104.79},
        headers=admin_headers,
    )
    r = client.put(
        f"/api/v1/people/{p.id}",
        json={"name": "王德福", "id_number": p.id_number},
        headers=admin_headers,
    )
    assert _point(r.json) == (31.46, 104.79)


@pytest.mark.parametrize("role", ["provider", "manager", "auditor", "worker"])
def test_only_the_bureau_patches_a_person(client, enrolled, role):
    elder, _e, boss, worker = enrolled
    u = {"provider": boss, "worker": worker}.get(role) or f.scoped_user(client, role)
    r = client.patch(
        f"/api/v1/people/{elder.id}", json={"home_lat": 1, "home_lng": 1}, headers=f.headers(u)
    )
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(type(elder), elder.id).home_lat is None


def test_the_person_page_shows_the_home_point_and_the_bureau_edits_it(client, admin, enrolled):
    elder, _e, boss, _w = enrolled
    f.login(client, admin)
    page = client.get(f"/people/{elder.id}").text
    assert "未设定" in page and 'data-testid="home-point"' in page
    form = client.get(f"/people/{elder.id}/edit").text
    assert 'name="home_lat"' in form and 'name="home_lng"' in form
    token = f.csrf(client, f"/people/{elder.id}/edit")
    data = {
        "csrf_token": token,
        "name": elder.name,
        "id_number": elder.id_number,
        "township_code": "510704001",
        "home_lat": "31.4601",
        "home_lng": "104.7902",
    }
    r = client.post(f"/people/{elder.id}/edit", data=data)
    assert r.status_code == 302, r.text
    assert "31.460100, 104.790200" in client.get(f"/people/{elder.id}").text
    r = client.post(f"/people/{elder.id}/edit", data=data | {"home_lng": ""})
    assert r.status_code == 422 and "经度" in r.text
    r = client.post(f"/people/{elder.id}/edit", data=data | {"home_lat": "91"})
    assert r.status_code == 422 and "纬度应为" in r.text
    client.get("/logout")
    f.login(client, boss)
    page = client.get(f"/people/{elder.id}").text
    assert "31.460100, 104.790200" in page
    assert f"/people/{elder.id}/edit" not in page


def test_a_provider_cannot_refill_the_stars_by_searching_longer_ends(
    client, enrolled, admin_headers
):
    """Searching the last 5, 6 … 17 characters of a number answers yes or no for each
    guessed digit: 80 searches would spell the birth date. A role that sees only masked
    numbers searches by name or by the last four characters (what it sees)."""
    elder, _e, boss, _w = enrolled
    number = elder.id_number
    h = f.headers(boss)

    def found(q, headers=h, path="/api/v1/people"):
        return client.get(path, query_string={"q": q}, headers=headers).json["total"]

    assert found(number[-4:]) == 1 and found("王德福") == 1
    for tail in (number[-5:], number[-8:], number[-14:], number):
        assert found(tail) == 0, tail
        assert found(tail, path="/api/v1/homecare/enrolments") == 0, tail
    assert found(number[-5:], admin_headers) == 1 and found(number, admin_headers) == 1
    assert found(number[-5:], admin_headers, "/api/v1/homecare/enrolments") == 1
