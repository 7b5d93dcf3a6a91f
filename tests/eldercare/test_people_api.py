"""API.md "People", "Audit", errors and the OpenAPI document."""

from __future__ import annotations

import re

import pytest

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
    assert len(today) == 14 and len(before) == 25
    ended = [r for r in before if r["valid_to"] == "2019-12-31"]
    assert ended and all(r["successor_code"] for r in ended)
