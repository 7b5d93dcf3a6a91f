"""The claims API beyond the reason codes: uploads (CSV UTF-8/GBK, .xlsx, broken files),
generation, scope both ways, overrides kept across reconciliations, approval, payment,
statements (xlsx opened with openpyxl, PDF text with pypdf)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from eldercare.extensions import db
from eldercare.models import AuditEntry
from eldercare.timeutil import LOCAL
from homecare.claims.models import Claim, ClaimLine
from tests import factories as f
from tests.odd_cells import full_width, odd_dates, odd_id_number

from .conftest import (
    COLUMNS,
    by_line,
    call_back,
    claim_and_reconcile,
    csv_bytes,
    line,
    month_text,
    reconcile,
    upload,
)


def test_upload_answers_201_with_the_line_count(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    r = upload(
        client, month.boss, month.provider.id, [line(1, v), line(2, v, code="meal", amount="30.00")]
    )
    assert r.status_code == 201
    assert r.json["status"] == "submitted" and r.json["lines"] == 2 and r.json["id"]


def test_gbk_csv_and_xlsx_are_accepted(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    content = csv_bytes([line(1, v)], encoding="gbk")
    r = upload(client, month.boss, month.provider.id, content=content)
    assert r.status_code == 201, r.json
    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    row = line(1, v)
    ws.append([1, v.id, row["id_number"], date.fromisoformat(row["service_date"]), "clean", 1, 40])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, month.other_boss, month.other.id, content=buf.getvalue(), name="claim.xlsx")
    assert r.status_code == 201, r.json
    assert r.json["lines"] == 1


def test_a_broken_file_is_refused_whole_naming_row_and_column(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    rows = [
        line(1, v),
        line(1, v),
        {**line(3, v), "quantity": "x", "amount": "-1"},
        {**line(4, v), "service_date": "2026-13-01", "service_code": "nope"},
        {**line(5, v), "id_number": "123", "visit_id": "abc"},
    ]
    r = upload(client, month.boss, month.provider.id, rows)
    assert r.status_code == 422
    err = r.json["error"]
    found = {(p["row"], p["column"]) for p in err["errors"]}
    assert found == {
        (3, "line_no"),
        (4, "quantity"),
        (4, "amount"),
        (5, "service_date"),
        (5, "service_code"),
        (6, "id_number"),
        (6, "visit_id"),
    }
    assert "row 4: quantity" in err["fields"]
    assert db.session.query(Claim).count() == 0 and db.session.query(ClaimLine).count() == 0


def test_missing_columns_and_empty_files_are_422(client, month):
    r = upload(client, month.boss, month.provider.id, content=b"line_no,visit_id\n1,2\n")
    assert r.status_code == 422
    assert {p["column"] for p in r.json["error"]["errors"]} >= {"amount", "id_number"}
    r = upload(client, month.boss, month.provider.id, content=b"")
    assert r.status_code == 422
    r = upload(client, month.boss, month.provider.id, content=csv_bytes([]))
    assert r.status_code == 422


def test_a_second_claim_for_the_month_is_supplementary_and_generating_nothing_is_409(client, month):
    """Issue 17.5: a second claim for a month is a supplementary one (补报); generating
    one when every visit of the month is claimed is 409 (nothing to claim)."""
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    r = upload(client, month.boss, month.provider.id, [line(1, v)])
    assert r.status_code == 201 and r.json["supplementary"] is False
    r = upload(client, month.admin, month.provider.id, [line(1, v)])
    assert r.status_code == 201 and r.json["supplementary"] is True
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(month.admin),
        json={"provider_id": month.provider.id, "month": month_text()},
    )
    assert r.status_code == 409


def test_bad_month_is_422(client, month):
    r = upload(
        client,
        month.boss,
        month.provider.id,
        [line(1, None, person=month.elders[0])],
        month="2026-13",
    )
    assert r.status_code == 422 and "month" in r.json["error"]["fields"]


def test_upload_larger_than_16_mib_is_413(client, month):
    r = upload(client, month.boss, month.provider.id, content=b"x" * (16 * 1024 * 1024 + 10))
    assert r.status_code == 413


def test_generate_from_logged_visits(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1), ("meal", 1)])
    w = month.visit(1, 4, 9, 30, [("haircut", 1)])
    month.open_visit(2, 5, 9)  # not finished: not claimed
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(month.boss),
        json={"provider_id": month.provider.id, "month": month_text()},
    )
    assert r.status_code == 201 and r.json["lines"] == 3 and r.json["status"] == "submitted"
    ans = reconcile(client, month.admin, r.json["id"]).json
    assert [(x["line_no"], x["visit_id"], x["claimed"], x["decision"]) for x in ans["lines"]] == [
        (1, v.id, "40.00", "approved"),
        (2, v.id, "30.00", "approved"),
        (3, w.id, "20.00", "approved"),
    ]
    assert ans["totals"]["approved"] == "90.00"


def test_scope_a_provider_sees_and_submits_only_its_own(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    r = upload(client, month.other_boss, month.provider.id, [line(1, v)])
    assert r.status_code == 404
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(month.other_boss),
        json={"provider_id": month.provider.id, "month": month_text()},
    )
    assert r.status_code == 404
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    for path in ("", "/lines", "/statement.xlsx", "/statement.pdf", "/callbacks"):
        assert (
            client.get(
                f"/api/v1/homecare/claims/{cid}{path}", headers=f.headers(month.other_boss)
            ).status_code
            == 404
        ), path
        assert (
            client.get(
                f"/api/v1/homecare/claims/{cid}{path}", headers=f.headers(month.boss)
            ).status_code
            == 200
        ), path
        assert (
            client.get(
                f"/api/v1/homecare/claims/{cid}{path}", headers=f.headers(month.auditor)
            ).status_code
            == 200
        ), path
    listed = client.get("/api/v1/homecare/claims", headers=f.headers(month.other_boss)).json
    assert listed["total"] == 0 and listed["items"] == []
    mine = client.get(
        f"/api/v1/homecare/claims?provider_id={month.provider.id}&month={month_text()}",
        headers=f.headers(month.boss),
    ).json
    assert mine["total"] == 1
    item = mine["items"][0]
    assert item["status"] == "submitted" and item["totals"]["claimed"] == "40.00"


def test_only_the_bureau_reconciles_overrides_approves_and_pays(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    worker = f.headers(month.worker)
    for who in (month.boss, month.auditor, month.worker):
        h = f.headers(who)
        assert client.post(f"/api/v1/homecare/claims/{cid}/reconcile", headers=h).status_code == 403
        assert client.post(f"/api/v1/homecare/claims/{cid}/approve", headers=h).status_code == 403
        assert client.post(f"/api/v1/homecare/claims/{cid}/pay", headers=h).status_code == 403
        assert (
            client.post(
                f"/api/v1/homecare/claims/{cid}/lines/1/override",
                headers=h,
                json={"decision": "rejected", "reason": "x"},
            ).status_code
            == 403
        )
    assert upload(client, month.auditor, month.provider.id, [line(1, v)]).status_code == 403
    assert client.get("/api/v1/homecare/claims", headers=worker).status_code == 403
    assert client.get("/api/v1/homecare/claims").status_code == 401


def test_override_is_kept_across_reconciliations_and_audited(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v), line(2, v)])
    cid = ans["id"]
    h = f.headers(month.admin)
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/lines/2/override",
        headers=h,
        json={"decision": "approved", "reason": ""},
    )
    assert r.status_code == 422 and "reason" in r.json["error"]["fields"]
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/lines/1/override",
        headers=h,
        json={"decision": "adjusted", "amount": "35.00", "reason": "老人反映服务时间不足"},
    )
    assert r.status_code == 200, r.json
    assert r.json["decision"] == "adjusted" and r.json["approved"] == "35.00"
    assert r.json["totals"]["approved"] == "35.00"
    again = reconcile(client, month.admin, cid).json
    assert by_line(again)[1]["decision"] == "adjusted" and by_line(again)[1]["approved"] == "35.00"
    assert by_line(again)[1]["reasons"] == []
    assert again["totals"] == {"claimed": "80.00", "approved": "35.00", "rejected": "45.00"}
    entry = db.session.query(AuditEntry).filter_by(action="claim_line_override").one()
    assert entry.changes["reason"] == "老人反映服务时间不足"
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/lines/1/override", headers=h, json={"decision": "auto"}
    )
    assert r.json["decision"] == "approved" and r.json["approved"] == "40.00"


def test_status_flow_with_who_and_when(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    h = f.headers(month.admin)
    assert client.post(f"/api/v1/homecare/claims/{cid}/approve", headers=h).status_code == 409
    assert reconcile(client, month.admin, cid).status_code == 200
    assert client.post(f"/api/v1/homecare/claims/{cid}/pay", headers=h).status_code == 409
    assert call_back(client, month, cid) == 1  # approval waits for the call-backs
    r = client.post(f"/api/v1/homecare/claims/{cid}/approve", headers=h)
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert reconcile(client, month.admin, cid).status_code == 409
    assert (
        client.post(
            f"/api/v1/homecare/claims/{cid}/lines/1/override",
            headers=h,
            json={"decision": "rejected", "reason": "迟了"},
        ).status_code
        == 409
    )
    r = client.post(f"/api/v1/homecare/claims/{cid}/pay", headers=h)
    assert r.status_code == 200 and r.json["status"] == "paid"
    hist = r.json["history"]
    assert hist["submitted"]["by"] and hist["reconciled"]["by"] and hist["paid"]["at"]
    assert client.post(f"/api/v1/homecare/claims/{cid}/pay", headers=h).status_code == 409


def test_statements_xlsx_and_pdf(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(
        client, month, [line(1, v), line(2, v), line(3, None, person=month.elders[1])]
    )
    cid = ans["id"]
    r = client.get(f"/api/v1/homecare/claims/{cid}/statement.xlsx", headers=f.headers(month.boss))
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    summary = [[c for c in row] for row in wb["结算汇总"].iter_rows(values_only=True)]
    flat = {row[0]: row[1] for row in summary if row and len(row) > 1}
    assert flat["服务组织"] == month.provider.name
    assert flat["服务组织申报金额（元）"] == 120 and flat["民政局核定金额（元）"] == 40
    assert any(row[0] == "涪江街道" for row in summary if row)
    ex = list(wb["核减、不予支付及改判"].iter_rows(values_only=True))
    assert len(ex) == 3 and "重复申报" in ex[1][9] and "没有对应的服务记录" in ex[2][9]
    assert ex[1][4] == "保洁（居室清洁）"  # the service in words, not its code
    r = client.get(f"/api/v1/homecare/claims/{cid}/statement.pdf", headers=f.headers(month.admin))
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert "结算单" in text and month.provider.name in text and "重复申报" in text
    assert "保洁" in text and "clean" not in text


def test_draft_claims_job_once_per_provider_and_month(client, month):
    from eldercare.jobs import run_job

    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    first = run_job("draft-claims", month_text())
    assert first.done and first.summary == {"drafted": 1, "lines": 1}
    assert run_job("draft-claims", month_text()).done is False
    claim = db.session.query(Claim).one()
    assert claim.source.value == "generated" and claim.provider_id == v.provider_id


def test_a_workbook_with_a_broken_sheet_is_422_not_500(client, month):
    """openpyxl reads a read-only sheet as it is iterated: XML broken half-way fails
    there, after the workbook opened, and is refused like any other unreadable file."""
    import zipfile

    wb = Workbook()
    wb.active.append(COLUMNS)
    buf = io.BytesIO()
    wb.save(buf)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(
                info, data[: len(data) // 2] if "worksheets/sheet" in info.filename else data
            )
    r = upload(client, month.boss, month.provider.id, content=out.getvalue(), name="claim.xlsx")
    assert r.status_code == 422
    assert "无法读取" in r.json["error"]["errors"][0]["message"]
    assert db.session.query(Claim).count() == 0


def test_odd_cells_are_read_as_every_upload_reads_them(client, month):
    """A claim file with dates written 2026年6月3日 or 20260603, full-width text and
    digits, an ID number with a lower-case x and amounts as ￥40 (tests/odd_cells.py):
    rosters and comparison lists accept the same."""
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    day = v.check_in_at.astimezone(LOCAL).date()
    dates = odd_dates(day)
    rows = [
        {
            **line(i + 1, v, service_date=text, amount=amount),
            "line_no": full_width(str(i + 1)),
            "id_number": odd_id_number(line(1, v)["id_number"]),
            "service_code": full_width("clean"),
            "quantity": full_width("1"),
        }
        for i, (text, amount) in enumerate(
            zip(dates, ["￥40", "40.00元", full_width("40"), "¥40.00", "40", "40.0"], strict=True)
        )
    ]
    r = upload(client, month.boss, month.provider.id, rows)
    assert r.status_code == 201, r.json
    got = db.session.query(ClaimLine).order_by(ClaimLine.line_no).all()
    assert [ln.line_no for ln in got] == list(range(1, len(dates) + 1))
    assert {
        (ln.service_date, ln.service_code, ln.quantity, ln.amount, ln.id_number) for ln in got
    } == {(day, "clean", Decimal("1.00"), Decimal("40.00"), line(1, v)["id_number"])}
