"""Pages: /comparisons, /comparisons/<id>, /reviews, /notices, for the bureau and the
auditor; every other role is refused."""

from __future__ import annotations

import io

import sqlalchemy as sa

from dynamic.models import Proposal
from eldercare.extensions import db
from eldercare.models import Person
from tests import factories as f

from .helpers import csv_bytes, days_ago, scoped_user, tekun


def _upload_page(client, content: bytes, kind: str = "death"):
    token = f.csrf(client, "/comparisons")
    return client.post(
        "/comparisons",
        data={
            "csrf_token": token,
            "kind": kind,
            "source": "区公安分局",
            "file": (io.BytesIO(content), "死亡名单.csv"),
        },
        content_type="multipart/form-data",
    )


def test_a_clerk_takes_a_death_list_from_upload_to_applied_exits(client, admin):
    f.login(client, admin)
    a, b, c = tekun("王德福"), tekun("李秀英", sex="F"), tekun("张三")
    content = csv_bytes(
        [
            [a.id_number, "王德福", days_ago(30).isoformat()],
            [b.id_number, "李秀英", days_ago(12).isoformat()],
            [c.id_number, "张三", days_ago(8).isoformat()],
            [f.new_id_number(), "外区人员", days_ago(9).isoformat()],
        ]
    )
    resp = _upload_page(client, content)
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    assert "王德福" in page.text and "特困供养" in page.text and "外区人员" in page.text
    ids = list(db.session.scalars(sa.select(Proposal.id).order_by(Proposal.id)))
    token = f.csrf(client, resp.headers["Location"])
    one = client.post(f"/proposals/{ids[0]}/accept", data={"csrf_token": token})
    assert one.status_code == 303
    cid = db.session.scalar(sa.select(Proposal.comparison_id))
    bulk = client.post(
        f"/comparisons/{cid}/decide",
        data={"csrf_token": token, "action": "accept", "ids": [str(i) for i in ids]},
    )
    assert bulk.status_code == 303
    db.session.expire_all()
    assert all(db.session.get(Person, p.id).status == "deceased" for p in (a, b, c))
    assert {p.status for p in db.session.scalars(sa.select(Proposal))} == {"accepted"}


def test_bulk_reject_needs_a_reason(client, admin):
    f.login(client, admin)
    a = tekun("王德福")
    resp = _upload_page(client, csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]]))
    comp_url = resp.headers["Location"]
    pid = db.session.scalar(sa.select(Proposal.id))
    token = f.csrf(client, comp_url)
    cid = db.session.scalar(sa.select(Proposal.comparison_id))
    client.post(
        f"/comparisons/{cid}/decide",
        data={"csrf_token": token, "action": "reject", "ids": [str(pid)], "reason": ""},
    )
    assert db.session.get(Proposal, pid).status == "pending"
    client.post(
        f"/comparisons/{cid}/decide",
        data={"csrf_token": token, "action": "reject", "ids": [str(pid)], "reason": "核实仍在世"},
    )
    db.session.expire_all()
    assert db.session.get(Proposal, pid).status == "rejected"


def test_a_broken_list_shows_every_problem_and_stores_nothing(client, admin):
    f.login(client, admin)
    resp = _upload_page(
        client,
        csv_bytes(
            [["360426199101010072", "甲", "2026-01-02"], ["360426199101010071", "乙", "不详"]]
        ),
    )
    assert resp.status_code == 422
    assert "list-problems" in resp.text and "id_number" in resp.text and "date" in resp.text
    assert client.get("/comparisons").text.count('data-testid="comparisons-table"') == 1
    from dynamic.models import Comparison

    assert db.session.scalar(sa.select(sa.func.count(Comparison.id))) == 0


def test_a_post_without_csrf_is_refused(client, admin):
    f.login(client, admin)
    resp = client.post("/comparisons", data={"kind": "death"})
    assert resp.status_code in (303, 400)
    from dynamic.models import Comparison

    assert db.session.scalar(sa.select(sa.func.count(Comparison.id))) == 0


def test_the_auditor_reads_the_pages_without_forms_and_cannot_post(
    client, admin_headers, make_user
):
    a = tekun("王德福")
    from .helpers import upload

    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]]),
    ).json
    auditor = make_user("auditor")
    f.login(client, auditor)
    for path in (
        "/comparisons",
        f"/comparisons/{comp['id']}",
        "/reviews",
        "/notices",
        "/comparisons/figures",
        f"/reviews/{a.id}",
    ):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert "upload-form" not in resp.text and "bulk-form" not in resp.text
        assert "review-form" not in resp.text
    token = f.csrf(client, "/comparisons")
    pid = db.session.scalar(sa.select(Proposal.id))
    assert client.post(f"/proposals/{pid}/accept", data={"csrf_token": token}).status_code == 403
    assert client.post("/comparisons", data={"csrf_token": token}).status_code == 403
    assert db.session.get(Proposal, pid).status == "pending"


def test_other_roles_get_403(client, admin_headers):
    for role in ("manager", "provider", "worker"):
        u = scoped_user(client, admin_headers, role)
        c = client.application.test_client()
        f.login(c, u)
        for path in ("/comparisons", "/reviews", "/notices", "/comparisons/figures"):
            assert c.get(path).status_code == 403, (role, path)


def test_lists_export_with_masked_id_numbers(client, admin):
    f.login(client, admin)
    a = tekun("王德福")
    day = days_ago(3).isoformat()
    resp = _upload_page(
        client, csv_bytes([[a.id_number, "王德福", day], [f.new_id_number(), "外区人员", day]])
    )
    url = resp.headers["Location"]
    out = client.get(url + "?format=csv").data.decode("utf-8-sig")
    assert "外区人员" in out and a.id_number not in out and a.id_number[-4:] in out
    assert client.get("/comparisons?format=xlsx").status_code == 200
    assert client.get("/reviews?format=csv").status_code == 200
    assert client.get("/notices?format=xlsx").status_code == 200


def test_nav_shows_the_pages_to_the_bureau(client, admin):
    f.login(client, admin)
    home = client.get("/")
    assert "/comparisons" in home.text and "/reviews" in home.text and "/notices" in home.text
    assert 'data-testid="dynamic-panel"' in home.text


def test_the_person_page_shows_reviews_and_ends_support_by_form(client, admin):
    p = tekun("王德福")
    f.login(client, admin)
    page = client.get(f"/people/{p.id}")
    assert 'data-testid="dynamic-person-panel"' in page.text and "终止特困供养" in page.text
    token = f.csrf(client, f"/people/{p.id}")
    resp = client.post(
        f"/people/{p.id}/wubao/terminate",
        data={"csrf_token": token, "date": days_ago(1).isoformat(), "reason": "voluntary"},
    )
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Person, p.id).current_support is None
    assert "自愿申请退出" in client.get(f"/people/{p.id}").text


def test_an_upload_above_16_mib_is_413(client, admin_headers):
    from .helpers import upload

    resp = upload(client, admin_headers, "death", b"a" * (16 * 1024 * 1024 + 10))
    assert resp.status_code == 413


def test_the_openapi_document_describes_the_comparison_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/comparisons",
        "/api/v1/comparisons/{comparison_id}/proposals",
        "/api/v1/proposals/{proposal_id}/accept",
        "/api/v1/proposals/{proposal_id}/reject",
    ):
        assert path in paths, sorted(paths)


def test_odd_dates_on_the_pages_fall_back_to_today(client, admin):
    f.login(client, admin)
    for path in (
        "/comparisons/figures?until=0001-01-01",
        "/comparisons/figures?since=9999-12-31",
        "/notices?day=0001-01-01",
        "/notices?day=junk",
    ):
        assert client.get(path).status_code == 200, path
