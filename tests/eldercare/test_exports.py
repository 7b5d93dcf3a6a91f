"""Exports (.xlsx and .csv): formula injection, ID numbers as text, masking on the lists."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from eldercare.exports import DANGEROUS, cell, export_response, safe_text
from tests import factories as f

# A payload for every prefix a spreadsheet would run (ENGINEERING.md: = + - @ tab CR).
PAYLOADS = {
    "=": '=HYPERLINK("http://evil.example","点此")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}
MASKED = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")


def test_every_dangerous_prefix_has_a_payload():
    assert set(PAYLOADS) == set(DANGEROUS)
    assert all(v.startswith(k) for k, v in PAYLOADS.items())


def _export(app, fmt: str, headers, rows) -> bytes:
    with app.test_request_context(f"/x?format={fmt}"):
        resp = export_response("test", headers, rows, fmt)
        return resp.get_data()


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel in China needs the BOM for UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("prefix", DANGEROUS)
def test_csv_cells_starting_with_a_formula_character_are_prefixed(app, prefix):
    value = PAYLOADS[prefix]
    data = _export(app, "csv", [value, "安全"], [[value, "安全"], ["普通", value]])
    rows = _csv_rows(data)
    assert rows[0] == ["'" + value, "安全"]  # headers too
    assert rows[1] == ["'" + value, "安全"]
    assert rows[2] == ["普通", "'" + value]


@pytest.mark.parametrize("prefix", DANGEROUS)
def test_xlsx_cells_starting_with_a_formula_character_are_text_with_the_prefix(app, prefix):
    value = PAYLOADS[prefix]
    data = _export(app, "xlsx", [value, "安全"], [[value, "安全"]])
    ws = load_workbook(io.BytesIO(data)).active
    for c in (ws["A1"], ws["A2"]):
        assert c.data_type == "s"  # a string, never a formula
        # (XML reads a raw carriage return back as a line feed: the ' still leads)
        assert c.value == "'" + value.replace("\r", "\n")
    assert ws["B2"].value == "安全"
    # nothing in the file is a formula
    wb_formulas = load_workbook(io.BytesIO(data), data_only=False).active
    assert all(c.data_type != "f" for row in wb_formulas.iter_rows() for c in row)


def test_safe_values_numbers_and_dates_are_unchanged():
    assert safe_text("王德福") == "王德福"
    assert safe_text("a=b") == "a=b"  # only the first character matters
    assert cell(-5) == -5 and cell(Decimal("-3.50")) == Decimal("-3.50")  # numbers stay numbers
    assert cell("-5") == "'-5"  # text that a spreadsheet would read as a formula
    assert cell(date(2026, 3, 1)) == "2026-03-01"
    assert cell(None) == "" and cell(True) == "是"


def test_id_numbers_are_written_as_text(app):
    number, masked = "510704193506176511", "510704********6511"
    data = _export(app, "xlsx", ["身份证号"], [[number], [masked], ["51070419570408158X"]])
    ws = load_workbook(io.BytesIO(data)).active
    assert [c.data_type for c in ws["A"][1:]] == ["s", "s", "s"]
    assert [c.value for c in ws["A"][1:]] == [number, masked, "51070419570408158X"]
    rows = _csv_rows(_export(app, "csv", ["身份证号"], [[number], [masked]]))
    assert [r[0] for r in rows[1:]] == [number, masked]  # every digit kept, no exponent


def _people_with_awkward_names(make_person):
    return [make_person(name="=1+2"), make_person(name="@SUM(A1)"), make_person(name="王德福")]


def test_people_list_export_masks_id_numbers_and_defuses_formulas(client, admin, make_person):
    people = _people_with_awkward_names(make_person)
    f.login(client, admin)  # the admin may see full numbers one at a time; lists never
    csv_data = client.get("/people?format=csv")
    assert csv_data.status_code == 200
    assert "attachment" in csv_data.headers["Content-Disposition"]
    rows = _csv_rows(csv_data.data)
    header, body = rows[0], rows[1:]
    id_col = header.index("身份证号")
    assert len(body) == 3
    assert all(MASKED.match(r[id_col]) for r in body)
    names = {r[header.index("姓名")] for r in body}
    assert names == {"'=1+2", "'@SUM(A1)", "王德福"}

    xlsx = client.get("/people?format=xlsx")
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    header = [c.value for c in ws[1]]
    id_col = header.index("身份证号")
    ids = [row[id_col] for row in ws.iter_rows(min_row=2)]
    assert len(ids) == 3
    assert all(c.data_type == "s" and MASKED.match(c.value) for c in ids)
    names = {row[header.index("姓名")].value for row in ws.iter_rows(min_row=2)}
    assert names == {"'=1+2", "'@SUM(A1)", "王德福"}
    for p in people:  # no full number anywhere in either file
        assert p.id_number.encode() not in csv_data.data
        assert p.id_number[6:14].encode() not in xlsx.data


def test_people_export_follows_the_roles_that_see_the_list(client, make_user, make_person):
    make_person()
    auditor = make_user("auditor")
    f.login(client, auditor)
    rows = _csv_rows(client.get("/people?format=csv").data)
    assert len(rows) == 2 and MASKED.match(rows[1][rows[0].index("身份证号")])
