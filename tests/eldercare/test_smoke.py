def test_healthz_answers_once_database_answers(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok"}


def test_admin_registers_a_person_and_the_audit_log_says_so(client, admin_headers):
    resp = client.post(
        "/api/v1/people",
        json={"name": "王德福", "id_number": "510704193506176511"},
        headers=admin_headers,
    )
    assert resp.status_code == 201
    assert resp.json["birth_date"] == "1935-06-17"
    entries = client.get("/api/v1/audit?entity=people", headers=admin_headers).json["items"]
    assert {e["action"] for e in entries} >= {"create"}
