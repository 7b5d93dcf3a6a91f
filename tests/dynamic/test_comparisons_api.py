"""API.md "Comparison with other departments": the contract, matching, broken files,
deciding, one transaction, roles."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from dynamic.models import Comparison, ComparisonRow, Proposal, Termination
from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import Person, WubaoSupport
from eldercare.signals import person_died
from tests import factories as f
from tests.odd_cells import full_width, odd_dates, odd_id_number

from .helpers import csv_bytes, days_ago, scoped_user, tekun, upload, xlsx_bytes


def test_upload_answers_the_contract_and_proposals_say_what_accepting_does(client, admin_headers):
    p = tekun("王德福")
    other = f.person("李秀英", sex="F")
    died = days_ago(20)
    resp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes(
            [
                [p.id_number, "王德福", died.isoformat()],
                [other.id_number, "李秀英", days_ago(3).isoformat()],
                [f.new_id_number(), "外区人员", days_ago(5).isoformat()],
            ]
        ),
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert {"id", "rows", "matched", "unmatched", "proposals"} <= set(body)
    assert (body["rows"], body["matched"], body["unmatched"], body["proposals"]) == (3, 2, 1, 2)
    assert all(
        isinstance(body[k], int) for k in ("id", "rows", "matched", "unmatched", "proposals")
    )

    page = client.get(f"/api/v1/comparisons/{body['id']}/proposals", headers=admin_headers)
    assert page.status_code == 200
    assert {"items", "total", "page", "per_page"} <= set(page.json)
    item = next(i for i in page.json["items"] if i["person_id"] == p.id)
    assert {"id", "person_id", "kind", "date", "effects", "status"} <= set(item)
    assert item["kind"] == "death" and item["date"] == died.isoformat()
    assert item["status"] == "pending"
    assert all(isinstance(e, str) for e in item["effects"])
    assert any("特困供养" in e and "终止" in e for e in item["effects"])
    assert any("已故" in e for e in item["effects"])


def test_accept_applies_the_death_and_stops_payment_from_next_month(client, admin_headers):
    p = tekun("王德福")
    died = days_ago(20)
    comp = upload(
        client, admin_headers, "death", csv_bytes([[p.id_number, "王德福", died.isoformat()]])
    ).json
    pid = db.session.scalar(sa.select(Proposal.id).where(Proposal.comparison_id == comp["id"]))
    resp = client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "accepted" and resp.json["effects"]
    db.session.expire_all()
    person = db.session.get(Person, p.id)
    assert person.status == "deceased" and person.death_date == died
    support = db.session.scalar(sa.select(WubaoSupport).where(WubaoSupport.person_id == p.id))
    assert support.end_date == died and support.end_reason == "death"
    t = db.session.scalar(sa.select(Termination).where(Termination.person_id == p.id))
    assert t.reason == "death" and t.proposal_id == pid and t.source == "comparison"
    assert t.payment_end.month == died.month and (t.payment_end.day >= 28)
    audit = client.get(f"/api/v1/audit?entity=proposals&entity_id={pid}", headers=admin_headers)
    assert any(e["action"] == "accepted_proposal" for e in audit.json["items"])


def test_deciding_twice_is_409(client, admin_headers):
    a, b = tekun("甲"), tekun("乙")
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes(
            [
                [a.id_number, "甲", days_ago(2).isoformat()],
                [b.id_number, "乙", days_ago(2).isoformat()],
            ]
        ),
    ).json
    ids = list(
        db.session.scalars(
            sa.select(Proposal.id).where(Proposal.comparison_id == comp["id"]).order_by(Proposal.id)
        )
    )
    first = client.post(f"/api/v1/proposals/{ids[0]}/accept", headers=admin_headers)
    assert first.status_code == 200
    again = client.post(f"/api/v1/proposals/{ids[0]}/accept", headers=admin_headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_decided"
    rej = client.post(
        f"/api/v1/proposals/{ids[0]}/reject", json={"reason": "重复"}, headers=admin_headers
    )
    assert rej.status_code == 409
    ok = client.post(
        f"/api/v1/proposals/{ids[1]}/reject",
        json={"reason": "户籍核实仍在世"},
        headers=admin_headers,
    )
    assert ok.status_code == 200 and ok.json["status"] == "rejected"
    assert (
        client.post(f"/api/v1/proposals/{ids[1]}/accept", headers=admin_headers).status_code == 409
    )
    assert db.session.get(Person, b.id).status == "active"


def test_reject_needs_a_reason(client, admin_headers):
    a = tekun("甲")
    comp = upload(
        client, admin_headers, "death", csv_bytes([[a.id_number, "甲", days_ago(2).isoformat()]])
    ).json
    pid = db.session.scalar(sa.select(Proposal.id).where(Proposal.comparison_id == comp["id"]))
    resp = client.post(f"/api/v1/proposals/{pid}/reject", json={}, headers=admin_headers)
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]


def test_matching_forgives_fifteen_digits_lower_x_and_spaces(client, admin_headers):
    old = tekun("张三", birth=date(1945, 3, 12))
    eighteen = old.id_number
    fifteen = eighteen[:6] + eighteen[8:17]
    x = f.person("赵四", id_number="11010519491231002X", sex="F")
    spaced = tekun("钱五", birth=date(1950, 1, 2))
    spaced_number = " ".join([spaced.id_number[:6], spaced.id_number[6:14], spaced.id_number[14:]])
    resp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes(
            [
                [fifteen, "张三", days_ago(4).isoformat()],
                ["11010519491231002x", "赵四", days_ago(4).isoformat()],
                [spaced_number, "钱五", days_ago(4).isoformat()],
            ]
        ),
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["matched"] == 3 and resp.json["proposals"] == 3
    matched = set(db.session.scalars(sa.select(Proposal.person_id)))
    assert matched == {old.id, x.id, spaced.id}


def test_ambiguous_rows_are_reported_and_make_no_proposal(client, admin_headers):
    a, dead = tekun("王德福"), tekun("李四")
    from eldercare.people import services as people

    people.record_death(dead, days_ago(40))
    db.session.commit()
    resp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes(
            [
                [a.id_number, "王得福", days_ago(3).isoformat()],
                [dead.id_number, "李四", days_ago(3).isoformat()],
            ]
        ),
    )
    assert resp.status_code == 201
    body = resp.json
    assert body["ambiguous"] == 2 and body["matched"] == 0 and body["proposals"] == 0
    reasons = {r["row"]: r["reason"] for r in body["report"]}
    assert "姓名不符" in reasons[2] and "已登记死亡" in reasons[3]
    assert all("*" in r["id_number"] for r in body["report"])  # masked


def test_a_repeated_list_does_not_propose_twice(client, admin_headers):
    a = tekun("王德福")
    content = csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]])
    assert upload(client, admin_headers, "death", content).json["proposals"] == 1
    again = upload(client, admin_headers, "death", content).json
    assert again["proposals"] == 0 and again["ambiguous"] == 1


@pytest.mark.parametrize(
    ("rows", "row", "column"),
    [
        ([["360426199101010072", "甲", "2026-01-02"]], 2, "id_number"),
        ([["360426199101010071", "甲", "2026-13-02"]], 2, "date"),
        ([["360426199101010071", "", "2026-01-02"]], 2, "name"),
        ([["360426199101010071", "甲", "2099-01-02"]], 2, "date"),
    ],
)
def test_a_broken_file_is_422_naming_row_and_column_and_nothing_is_stored(
    client, admin_headers, rows, row, column
):
    good = [["11010519491231002X", "乙", "2026-01-02"]]
    resp = upload(client, admin_headers, "death", csv_bytes(good + rows))
    assert resp.status_code == 422
    err = resp.json["error"]
    assert err["code"] == "invalid_file" and "file" in err["fields"]
    assert {"row": row + 1, "column": column} == {k: err["errors"][0][k] for k in ("row", "column")}
    assert db.session.scalar(sa.select(sa.func.count(Comparison.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ComparisonRow.id))) == 0


def test_every_bad_row_is_named_and_xlsx_rows_are_as_the_sheet_shows(client, admin_headers):
    content = xlsx_bytes(
        [
            ["360426199101010072", "甲", "2026-01-02"],
            ["360426199101010071", "乙", "yesterday"],
            ["440308199901101512", "丙", "2026-01-03"],
        ]
    )
    resp = upload(client, admin_headers, "death", content, "list.xlsx")
    assert resp.status_code == 422
    assert [(e["row"], e["column"]) for e in resp.json["error"]["errors"]] == [
        (2, "id_number"),
        (3, "date"),
    ]


def test_a_workbook_with_a_broken_sheet_is_422_not_500(client, admin_headers):
    """openpyxl reads a read-only sheet as it is iterated: XML broken half-way fails
    there, after the workbook opened, and is refused like any other unreadable file."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["11010519491231002X", "乙", "2026-01-02"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(
                info, data[: len(data) // 2] if "worksheets/sheet" in info.filename else data
            )
    resp = upload(client, admin_headers, "death", out.getvalue(), "list.xlsx")
    assert resp.status_code == 422
    assert "无法读取" in resp.json["error"]["errors"][0]["message"]
    assert db.session.scalar(sa.select(sa.func.count(Comparison.id))) == 0


def test_missing_columns_and_non_tables_are_422(client, admin_headers):
    resp = upload(
        client, admin_headers, "income", csv_bytes([["11010519491231002X", "乙", "2026-01-02"]])
    )
    assert resp.status_code == 422
    assert resp.json["error"]["errors"][0]["column"] == "monthly_amount"
    pdf = upload(client, admin_headers, "death", b"%PDF-1.4\x00\x00binary", "x.pdf")
    assert pdf.status_code == 422
    bad_kind = upload(client, admin_headers, "birth", csv_bytes([]))
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json["error"]["fields"]


def test_gbk_csv_with_chinese_headers_is_read(client, admin_headers):
    a = tekun("王德福")
    content = csv_bytes(
        [[a.id_number, "王德福", days_ago(3).isoformat()]],
        header=("身份证号码", "姓名", "死亡日期"),
        encoding="gbk",
    )
    resp = upload(client, admin_headers, "death", content)
    assert resp.status_code == 201, resp.json
    assert resp.json["proposals"] == 1


def test_a_failing_receiver_rolls_everything_back(client, admin_headers):
    a = tekun("王德福")
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]]),
    ).json
    pid = db.session.scalar(sa.select(Proposal.id).where(Proposal.comparison_id == comp["id"]))

    def refuse(person, on, **_kw):
        raise Conflict("a feature refuses", code="refused")

    person_died.connect(refuse)
    try:
        resp = client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers)
    finally:
        person_died.disconnect(refuse)
    assert resp.status_code == 409 and resp.json["error"]["code"] == "refused"
    db.session.expire_all()
    assert db.session.get(Proposal, pid).status == "pending"
    assert db.session.get(Person, a.id).status == "active"
    assert db.session.get(Person, a.id).current_support.end_date is None
    assert db.session.scalar(sa.select(sa.func.count(Termination.id))) == 0
    # and afterwards it still applies
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers).status_code == 200


def test_a_crashing_receiver_rolls_back_too(client, admin_headers):
    a = tekun("王德福")
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]]),
    ).json
    pid = db.session.scalar(sa.select(Proposal.id).where(Proposal.comparison_id == comp["id"]))

    def crash(person, on, **_kw):
        raise RuntimeError("boom")

    person_died.connect(crash)
    try:
        resp = client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers)
    finally:
        person_died.disconnect(crash)
    assert resp.status_code == 500
    db.session.expire_all()
    assert db.session.get(Proposal, pid).status == "pending"
    assert db.session.get(Person, a.id).status == "active"


def test_moved_list_records_the_move(client, admin_headers):
    a = tekun("王德福", support="dispersed")
    comp = upload(
        client,
        admin_headers,
        "moved",
        csv_bytes([[a.id_number, "王德福", days_ago(10).isoformat()]]),
    ).json
    pid = db.session.scalar(sa.select(Proposal.id).where(Proposal.comparison_id == comp["id"]))
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=admin_headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(Person, a.id).status == "moved"
    t = db.session.scalar(sa.select(Termination))
    assert t.reason == "moved" and t.proposal_id == pid


def test_income_above_the_line_proposes_a_review(client, admin_headers):
    high, low = tekun("甲", support="dispersed"), tekun("乙", support="dispersed")
    plain = f.person("丙")
    content = csv_bytes(
        [
            [high.id_number, "甲", "2026-10-01", "1200.00"],
            [low.id_number, "乙", "2026-10-01", "300"],
            [plain.id_number, "丙", "2026-10-01", "3000"],
        ],
        header=("id_number", "name", "date", "monthly_amount"),
    )
    resp = upload(client, admin_headers, "income", content)
    assert resp.status_code == 201, resp.json
    assert resp.json["matched"] == 3 and resp.json["proposals"] == 1
    items = client.get(
        f"/api/v1/comparisons/{resp.json['id']}/proposals", headers=admin_headers
    ).json["items"]
    assert [i["person_id"] for i in items] == [high.id]
    assert any("复核" in e for e in items[0]["effects"])
    assert (
        client.post(f"/api/v1/proposals/{items[0]['id']}/accept", headers=admin_headers).status_code
        == 200
    )
    special = client.get("/api/v1/reviews?kind=special", headers=admin_headers).json
    assert [i["person_id"] for i in special["items"]] == [high.id]


@pytest.mark.parametrize("role", ["manager", "provider", "worker"])
def test_other_roles_are_refused(client, admin_headers, role):
    a = tekun("王德福")
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]]),
    ).json
    pid = db.session.scalar(sa.select(Proposal.id))
    h = f.headers(scoped_user(client, admin_headers, role))
    csv = csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]])
    assert upload(client, h, "death", csv).status_code == 403
    assert client.get("/api/v1/comparisons", headers=h).status_code == 403
    assert client.get(f"/api/v1/comparisons/{comp['id']}/proposals", headers=h).status_code == 403
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=h).status_code == 403
    assert (
        client.post(f"/api/v1/proposals/{pid}/reject", json={"reason": "x"}, headers=h).status_code
        == 403
    )
    assert db.session.get(Proposal, pid).status == "pending"


def test_the_auditor_reads_but_does_not_decide(client, admin_headers, make_user):
    a = tekun("王德福")
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]]),
    ).json
    pid = db.session.scalar(sa.select(Proposal.id))
    h = f.headers(make_user("auditor"))
    assert client.get("/api/v1/comparisons", headers=h).status_code == 200
    assert client.get(f"/api/v1/comparisons/{comp['id']}", headers=h).status_code == 200
    assert client.get(f"/api/v1/comparisons/{comp['id']}/proposals", headers=h).status_code == 200
    assert client.get("/api/v1/dynamic/figures", headers=h).status_code == 200
    csv = csv_bytes([[a.id_number, "王德福", days_ago(3).isoformat()]])
    assert upload(client, h, "death", csv).status_code == 403
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=h).status_code == 403
    assert (
        client.post(f"/api/v1/proposals/{pid}/reject", json={"reason": "x"}, headers=h).status_code
        == 403
    )


def test_without_a_token_it_is_401_and_unknown_ids_404(client, admin_headers):
    assert client.get("/api/v1/comparisons").status_code == 401
    assert client.post("/api/v1/proposals/1/accept").status_code == 401
    assert client.get("/api/v1/comparisons/999/proposals", headers=admin_headers).status_code == 404
    assert client.post("/api/v1/proposals/999/accept", headers=admin_headers).status_code == 404


def test_odd_cells_are_read_as_every_upload_reads_them(client, admin_headers):
    """Full-width text, ID numbers in full-width digits, and dates written 2026年6月3日 or
    20260603 (tests/odd_cells.py): rosters and claim files accept the same."""
    day = days_ago(40)
    dates = odd_dates(day)
    elders = [tekun(f"王德{i}", birth=date(1940, 1, 1 + i)) for i in range(len(dates))]
    resp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes(
            [
                [odd_id_number(p.id_number), "\u3000" + p.name, text]
                for p, text in zip(elders, dates, strict=True)
            ],
            header=("身份证号码", "姓名", full_width("date")),
        ),
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["matched"] == len(dates) and resp.json["proposals"] == len(dates)
    got = db.session.execute(sa.select(Proposal.person_id, Proposal.date)).all()
    assert sorted(got) == sorted((p.id, day) for p in elders)
