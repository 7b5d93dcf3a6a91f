"""Roster import: the field samples (tests/eldercare/samples, copied from ../shared/samples)
through the API and the page, all or nothing, GBK, 11,000 rows, jobs and progress, roles."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from eldercare.database import utcnow
from eldercare.idnumbers import make_number
from eldercare.models import Category, Person, WubaoSupport
from eldercare.models.imports import ImportJob, JobStatus
from eldercare.people import import_jobs, imports, roster, roster_columns
from eldercare.timeutil import local_today
from tests import factories as f
from tests.odd_cells import full_width, odd_dates, odd_id_number

SAMPLES = Path(__file__).parent / "samples"
XLSX = (SAMPLES / "roster-field.xlsx").read_bytes()
GBK = (SAMPLES / "roster-field-gbk.csv").read_bytes()
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# 序号 -> what the import must make of the row (samples/README.md)
EXPECTED = {
    "1": ("王德福", "510704193506176511", "M", "elderly", "dispersed", "self"),
    "2": ("李秀英", "51070419570408158X", "F", "elderly", "centralized", "partial"),
    "4": ("刘桂兰", "510704195610153001", "F", "elderly", "dispersed", "self"),
    "5": ("陈永清", "510704195102043615", "M", "elderly", "centralized", "partial"),
    "6": ("杨素芬", "510704194601278764", "F", "elderly", "centralized", "full"),
    "8": ("黄玉珍", "510704194306264888", "F", "elderly", "centralized", "partial"),
    "9": ("周长林", "510704195202244318", "M", "disabled", "centralized", "full"),
    "10": ("吴秀兰", "510704201405060584", "F", "minor", "dispersed", "self"),
    "12": ("孙凤英", "510704194101289045", "F", "elderly", "centralized", "full"),
}
BAD_SEQ = {"3", "7", "11"}
# The same rows as the spreadsheet shows them: the workbook has a title, a filler row and
# the header above the data and a blank row after 序号 6; the CSV one title line.
BAD_ROWS = {"xlsx": [6, 11, 15], "csv": [5, 9, 13]}
WARN_ROWS = {"xlsx": [12], "csv": [10]}


def mended_xlsx() -> bytes:
    """The sample workbook with the rows of 序号 3, 7 and 11 removed."""
    wb = load_workbook(io.BytesIO(XLSX))
    ws = wb.active
    doomed = [c.row for c in ws["A"] if str(c.value) in BAD_SEQ]
    for row in sorted(doomed, reverse=True):
        ws.delete_rows(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def mended_csv() -> bytes:
    lines = GBK.decode("gbk").splitlines(keepends=True)
    keep = [ln for ln in lines if ln.split(",", 1)[0] not in BAD_SEQ]
    return "".join(keep).encode("gbk")


def post(client, headers, content: bytes, name: str, dry_run: str | None = None):
    data = {"file": (io.BytesIO(content), name)}
    if dry_run is not None:
        data["dry_run"] = dry_run
    return client.post(
        "/api/v1/people/import", data=data, headers=headers, content_type="multipart/form-data"
    )


def people(db) -> dict[str, Person]:
    db.session.rollback()  # a fresh snapshot: the import committed in another session
    return {p.id_number: p for p in db.session.scalars(sa.select(Person))}


def count(db, model=Person) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_nine_people(db):
    db.session.expire_all()
    got = people(db)
    assert len(got) == 9
    for name, number, sex, category, support, care in EXPECTED.values():
        p = got[number]
        assert (p.name, p.sex.value, p.care_level.value) == (name, sex, care)
        assert p.current_support.category.value == category
        assert p.current_support.support.value == support
        assert p.current_support.start_date == local_today()  # no date column: since today
        assert Category.TEKUN in p.category_set
        assert (Category.DISABLED in p.category_set) == (category == "disabled")
    assert got["510704193506176511"].township_code == "510704104"  # 魏城镇
    assert got["510704193506176511"].village_code.startswith("510704104")  # 魏城村


# --------------------------------------------------------------------------- the samples


@pytest.mark.parametrize(
    ("content", "name", "kind"),
    [(XLSX, "roster-field.xlsx", "xlsx"), (GBK, "roster-field-gbk.csv", "csv")],
)
def test_samples_as_they_are_are_refused_naming_rows_3_7_and_11(
    client, admin_headers, db, content, name, kind
):
    resp = post(client, admin_headers, content, name)
    assert resp.status_code == 422
    body = resp.json
    assert set(body) >= {"rows", "created", "updated", "errors", "warnings"}
    assert body["rows"] == 12  # title, filler, blank and total rows are not data
    assert [e["seq"] for e in body["errors"]] == ["3", "7", "11"]
    assert [e["row"] for e in body["errors"]] == BAD_ROWS[kind]
    assert {e["column"] for e in body["errors"]} == {"身份证号码"}
    excel, check, dup = (e["message"] for e in body["errors"])
    assert "Excel" in excel and "文本" in excel and "数字" in excel
    assert "校验" in check
    assert "重复" in dup and "序号 1" in dup
    assert [(w["row"], w["column"]) for w in body["warnings"]] == [(WARN_ROWS[kind][0], "性别")]
    assert "女" in body["warnings"][0]["message"]
    assert count(db) == 0  # all or nothing


@pytest.mark.parametrize(
    ("content", "name"), [(mended_xlsx(), "mended.xlsx"), (mended_csv(), "mended.csv")]
)
def test_mended_samples_dry_run_then_import_nine_people(client, admin_headers, db, content, name):
    dry = post(client, admin_headers, content, name, dry_run="true")
    assert dry.status_code == 200, dry.json
    assert (dry.json["rows"], dry.json["created"], dry.json["updated"]) == (9, 9, 0)
    assert dry.json["errors"] == [] and len(dry.json["warnings"]) == 1
    assert count(db) == 0  # a dry run stores nothing

    resp = post(client, admin_headers, content, name)
    assert resp.status_code == 201, resp.json
    assert (resp.json["rows"], resp.json["created"], resp.json["updated"]) == (9, 9, 0)
    assert_nine_people(db)
    assert count(db, WubaoSupport) == 9


def test_both_samples_read_the_same(client, admin_headers):
    a = post(client, admin_headers, mended_xlsx(), "a.xlsx", dry_run="true").json
    b = post(client, admin_headers, mended_csv(), "b.csv", dry_run="true").json
    assert (a["file_type"], b["file_type"]) == ("xlsx", "csv/gbk")
    for key in ("rows", "created", "updated"):
        assert a[key] == b[key]
    assert [w["message"] for w in a["warnings"]] == [w["message"] for w in b["warnings"]]


def test_importing_again_updates_and_never_duplicates(client, admin_headers, db):
    assert post(client, admin_headers, mended_csv(), "r.csv").status_code == 201
    ids = {n: p.id for n, p in people(db).items()}
    again = post(client, admin_headers, mended_xlsx(), "r.xlsx")
    assert again.status_code == 201
    assert (again.json["created"], again.json["updated"]) == (0, 9)
    db.session.expire_all()
    assert {n: p.id for n, p in people(db).items()} == ids
    assert count(db, WubaoSupport) == 9  # same support: nothing new


def test_an_existing_person_is_updated_by_id_number(client, admin_headers, db, make_person):
    p = make_person(name="王得福", id_number="510704193506176511", phone="13800000000")
    resp = post(client, admin_headers, mended_xlsx(), "r.xlsx")
    assert resp.status_code == 201
    assert (resp.json["created"], resp.json["updated"]) == (8, 1)
    assert any("王得福" in w["message"] for w in resp.json["warnings"])  # the name changes
    db.session.expire_all()
    p = db.session.get(Person, p.id)
    assert p.name == "王德福" and p.phone == "13800000000"  # no 电话 column: kept
    assert p.current_support.support.value == "dispersed"
    assert count(db) == 9


def test_a_refused_file_leaves_an_existing_person_untouched(client, admin_headers, db, make_person):
    p = make_person(name="王得福", id_number="510704193506176511")
    resp = post(client, admin_headers, XLSX, "as-is.xlsx")
    assert resp.status_code == 422
    db.session.expire_all()
    assert count(db) == 1
    p = db.session.get(Person, p.id)
    assert p.name == "王得福" and p.current_support is None and p.categories == []


def test_the_import_is_in_the_audit_log(client, admin_headers):
    post(client, admin_headers, mended_csv(), "r.csv")
    log = client.get("/api/v1/audit?entity=people", headers=admin_headers).json["items"]
    actions = [e["action"] for e in log]
    assert "import" in actions and actions.count("create") == 9
    assert all(e["user"] == "admin" for e in log)
    from eldercare import audit

    if hasattr(audit, "verify_chain"):  # bulk entries are links of the hash chain too
        checked, broken = audit.verify_chain()
        assert broken is None and checked >= 9 + 9 + 9 + 1


# --------------------------------------------------------------------------- reading


def roster_csv(rows: list[list[str]], header=None, encoding="utf-8", bom=False) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        header
        or [
            "序号",
            "姓名",
            "身份证号",
            "性别",
            "乡镇",
            "村（社区）",
            "类别",
            "供养方式",
            "自理能力",
            "联系电话",
            "家庭住址",
            "备注",
        ]
    )
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def numbers(n: int, start: int = 0) -> list[str]:
    out = []
    for i in range(start, start + n):
        birth = date(1930, 1, 1) + timedelta(days=i % 9000)
        out.append(make_number("510704", birth, 1 + (i // 9000) * 2 % 998))
    return out


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False), ("utf-16", False)],
)
def test_encodings_are_detected(client, admin_headers, encoding, bom):
    content = roster_csv(
        [["1", "龙秀兰", numbers(1)[0], "女", "魏城镇", "", "", "", "", "", "", ""]],
        encoding=encoding,
        bom=bom,
    )
    resp = post(client, admin_headers, content, "x.csv", dry_run="true")
    assert resp.status_code == 200, resp.json
    assert resp.json["created"] == 1
    assert resp.json["file_type"] == "csv/" + {"gb18030": "gbk"}.get(encoding, encoding)


def test_gbk_names_are_stored_right(client, admin_headers, db):
    content = roster_csv(
        [["1", "龍鎔", numbers(1)[0], "", "", "", "", "", "", "", "", ""]], encoding="gbk"
    )
    assert post(client, admin_headers, content, "x.csv").status_code == 201
    assert db.session.scalar(sa.select(Person.name)) == "龍鎔"


def test_header_variants_and_regions_by_name(client, admin_headers, db):
    header = [
        "编号",
        "人员姓名",
        "公民身份号码",
        "性别",
        "乡镇（街道）",
        "村",
        "人员类别",
        "供养形式",
        "生活自理能力",
        "手机",
        "住址",
        "供养开始日期",
    ]
    n = numbers(2)
    content = roster_csv(
        [
            [
                "1",
                "甲",
                n[0],
                "男",
                "魏城",
                "魏城村委会",
                "老年",
                "分散供养",
                "半自理",
                "138 0000 0000",
                "一组",
                "2024/3/1",
            ],
            [
                "2",
                "乙",
                n[1],
                "",
                "",
                "忠兴社区",
                "残疾",
                "集中供养",
                "不能自理",
                "",
                "",
                "2023年5月6日",
            ],
        ],
        header=header,
    )
    resp = post(client, admin_headers, content, "v.csv")
    assert resp.status_code == 201, resp.json
    got = people(db)
    a, b = got[n[0]], got[n[1]]
    assert (a.township_code, a.care_level.value, a.address) == ("510704104", "partial", "一组")
    assert a.current_support.start_date == date(2024, 3, 1)
    assert b.township_code == "510704106" and b.village_code.startswith("510704106")
    assert b.current_support.start_date == date(2023, 5, 6)


def test_unknown_names_and_values_are_errors_naming_the_column(client, admin_headers, db):
    n = numbers(5)
    content = roster_csv(
        [
            ["1", "甲", n[0], "男", "火星镇", "", "", "", "", "", "", ""],
            ["2", "乙", n[1], "男", "魏城镇", "月亮村", "", "", "", "", "", ""],
            ["3", "丙", n[2], "男", "", "", "贫困户", "分散", "", "", "", ""],
            ["4", "丁", n[3], "男", "", "", "老年人", "", "", "", "", ""],
            ["5", "戊", n[4], "男", "", "", "", "", "很好", "", "", ""],
            ["6", "", numbers(1, 50)[0], "", "", "", "", "", "", "", "", ""],
        ]
    )
    resp = post(client, admin_headers, content, "bad.csv")
    assert resp.status_code == 422
    got = {(e["row"], e["column"]) for e in resp.json["errors"]}
    assert got == {
        (2, "乡镇"),
        (3, "村（社区）"),
        (4, "类别"),
        (5, "供养方式"),
        (6, "自理能力"),
        (7, "姓名"),
    }
    assert "火星镇" in next(e["message"] for e in resp.json["errors"] if e["row"] == 2)
    assert count(db) == 0


def test_rows_that_are_not_data_are_passed_over(client, admin_headers):
    n = numbers(2)
    content = "\n".join(
        [
            "某某村特困人员花名册,,,",
            "填报单位：某某村,,,",
            "",
            "序号,姓名,身份证号码,备注",
            f"1,甲,{n[0]},",
            "2,,,",  # a pre-numbered empty line
            ",,,",
            "序号,姓名,身份证号码,备注",  # the header again (second printed page)
            f"3,乙,{n[1]},",
            "合计,2人,,",
            "填表人：张三,审核人：李四,,",
        ]
    ).encode()
    resp = post(client, admin_headers, content, "x.csv", dry_run="true")
    assert resp.status_code == 200, resp.json
    assert (resp.json["rows"], resp.json["created"]) == (2, 2)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"%PDF-1.4\n...", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "不是"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
        (b"PK\x03\x04not really a zip", "损坏"),
        (b"", "空"),
        ("只是一段文字，没有表头".encode(), "表头"),
    ],
)
def test_a_file_that_is_not_a_roster_is_refused_with_a_clear_message(
    client, admin_headers, content, words
):
    resp = post(client, admin_headers, content, "roster.xlsx")
    assert resp.status_code == 422
    assert len(resp.json["errors"]) == 1
    assert resp.json["errors"][0]["row"] is None
    assert words in resp.json["errors"][0]["message"]


def test_a_zip_that_is_not_a_workbook_is_refused(client, admin_headers):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<x/>")
    resp = post(client, admin_headers, buf.getvalue(), "roster.xlsx")
    assert resp.status_code == 422 and "不是 Excel" in resp.json["errors"][0]["message"]


def test_the_type_comes_from_the_content_not_the_name(client, admin_headers):
    resp = post(client, admin_headers, mended_xlsx(), "roster.csv", dry_run="true")
    assert resp.status_code == 200 and resp.json["file_type"] == "xlsx"


def test_an_upload_above_16_mib_is_413(client, admin_headers, db):
    big = b"a" * (16 * 1024 * 1024 + 10)
    resp = post(client, admin_headers, big, "big.csv")
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "too_large"


def test_missing_file_or_bad_flag_is_400(client, admin_headers):
    resp = client.post(
        "/api/v1/people/import", data={}, headers=admin_headers, content_type="multipart/form-data"
    )
    assert resp.status_code == 400
    assert post(client, admin_headers, GBK, "x.csv", dry_run="maybe").status_code == 400


def test_deceased_person_cannot_get_support_from_a_roster(client, admin_headers, db, make_person):
    from eldercare.people import services

    p = make_person(id_number="510704193506176511")
    services.record_death(p, date(2025, 1, 1))
    db.session.commit()
    resp = post(client, admin_headers, mended_csv(), "r.csv")
    assert resp.status_code == 422
    assert [(e["seq"], e["column"]) for e in resp.json["errors"]] == [("1", "类别")]
    assert "去世" in resp.json["errors"][0]["message"]
    assert count(db) == 1


def _trimmed(rows):
    out = []
    for n, values in rows:
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        if values:
            out.append((n, values))
    return out


def test_the_lean_xlsx_reader_reads_what_openpyxl_reads(client, admin_headers, db):
    from datetime import datetime

    n = numbers(3)
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(["特困人员花名册"])
    ws.append([])
    ws.append(["序号", "姓名", "身份证号码", "类别", "供养方式", "供养开始日期", "电话", "备注"])
    ws.append([1, "甲", n[0], "老年人", "集中", datetime(2021, 7, 1), 13800000000, True])
    ws.append([2.0, "乙", n[1], "残疾人", "分散", "2022-01-05", "028-1234", "=1+1"])
    ws.append([3, "丙", n[2], "", "", None, None, 1.5])
    ws["F6"].number_format = 'yyyy"年"m"月"d"日"'
    ws.append([])
    ws.append(["合计", "3人"])
    other = wb.create_sheet("说明")
    other.append(["填表说明：身份证号码一列请设为文本"])
    buf = io.BytesIO()
    wb.save(buf)
    content = buf.getvalue()

    from eldercare import tabular

    limits = tabular.Limits(max_rows=1000)
    lean = tabular._read_xlsx(content, roster_columns.HEADERS.width, limits, True, None)
    full = tabular._openpyxl(content, roster_columns.HEADERS.width, limits, True)
    assert _trimmed(lean.rows) == _trimmed(full.rows)
    assert _trimmed(lean.rows)[2][1][5] == datetime(2021, 7, 1)

    resp = post(client, admin_headers, content, "dates.xlsx")
    assert resp.status_code == 201, resp.json
    got = people(db)
    assert got[n[0]].current_support.start_date == date(2021, 7, 1)
    assert got[n[0]].phone == "13800000000"  # a phone typed as a number keeps its digits
    assert got[n[1]].current_support.start_date == date(2022, 1, 5)
    assert got[n[2]].current_support is None


def test_a_workbook_the_lean_reader_cannot_read_goes_to_openpyxl(
    client, admin_headers, monkeypatch
):
    def refuse(*_a, **_k):
        raise KeyError("unexpected part")

    from eldercare import tabular_xlsx

    monkeypatch.setattr(tabular_xlsx, "open_book", refuse)
    resp = post(client, admin_headers, XLSX, "roster-field.xlsx")
    assert resp.status_code == 422
    assert [e["row"] for e in resp.json["errors"]] == BAD_ROWS["xlsx"]
    assert post(client, admin_headers, mended_xlsx(), "m.xlsx").status_code == 201


# --------------------------------------------------------------------------- large files


def big_rows(n: int) -> tuple[list[str], list[list]]:
    header = [
        "序号",
        "姓名",
        "身份证号码",
        "性别",
        "所属乡镇（街道）",
        "村（社区）",
        "类别",
        "供养方式",
        "自理能力",
        "电话",
        "住址",
        "备注",
    ]
    towns = [
        ("魏城镇", "魏城村"),
        ("石马镇", "石马村"),
        ("忠兴镇", "忠兴社区"),
        ("新桥镇", "新桥村"),
    ]
    rows = []
    for i, number in enumerate(numbers(n)):
        town, village = towns[i % 4]
        tekun = i % 7 == 0
        rows.append(
            [
                i + 1,
                f"老人{i}",
                number,
                "",
                town,
                village,
                "老年人" if tekun else "",
                "集中" if tekun else "",
                ["全自理", "半护理", "全护理"][i % 3],
                f"138{i:08d}",
                f"{i % 9 + 1}组",
                "",
            ]
        )
    return header, rows


def big_xlsx(n: int) -> bytes:
    header, rows = big_rows(n)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(["游仙区养老服务对象花名册"])
    ws.append(header)
    for r in rows:
        ws.append(r)
    ws.append(["合计", f"{n}人"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_eleven_thousand_rows_import_whole_and_recheck_as_updates(client, admin_headers, db):
    """The district's whole roster in one file. Its speed is not timed here (a wall-clock
    limit fails on a loaded machine and passes a slow change on a quiet one): the query
    count below is the test of its cost, the benchmarks under bench/ give the seconds."""
    content = big_xlsx(11_000)
    resp = post(client, admin_headers, content, "big.xlsx")
    assert resp.status_code == 201, resp.json["errors"][:3]
    assert resp.json["created"] == 11_000
    assert count(db) == 11_000 and count(db, WubaoSupport) == 1572

    # Again: every row is an update, found by batched look-ups.
    again = post(client, admin_headers, content, "big.xlsx", dry_run="true")
    assert (again.json["created"], again.json["updated"]) == (0, 11_000)


def test_checking_needs_a_handful_of_queries_whatever_the_size(app, db):
    content = big_xlsx(2_000)
    statements = []

    def count_it(*_a, **_k):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count_it)
    try:
        checked = roster.check_roster(content, "x.xlsx")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_it)
    assert checked.report.errors == [] and len(checked.rows) == 2_000
    assert len(statements) <= 12  # regions once, people in chunks of 500


# --------------------------------------------------------------------------- the page and jobs


def page_post(client, content: bytes, name: str, confirm: str):
    token = f.csrf(client, "/people/import")
    return client.post(
        "/people/import",
        data={"file": (io.BytesIO(content), name), "confirm": confirm, "csrf_token": token},
        content_type="multipart/form-data",
    )


def poll(client, url: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        job = client.get(url, headers={"Accept": "application/json"}).json
        seen.append(job)
        if job["status"] in ("done", "failed"):
            job["seen"] = seen
            return job
        time.sleep(0.1)
    raise AssertionError(f"job did not finish: {seen[-1]}")


@pytest.mark.parametrize(
    ("content", "name", "kind"),
    [(XLSX, "roster-field.xlsx", "xlsx"), (GBK, "roster-field-gbk.csv", "csv")],
)
def test_page_shows_every_problem_of_the_samples(client, admin, db, content, name, kind):
    f.login(client, admin)
    resp = page_post(client, content, name, "1")
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    assert "一条也没有导入" in page.text and "Excel" in page.text and "校验位" in page.text
    for row in BAD_ROWS[kind]:
        assert f"<td>{row}</td>" in page.text
    job = client.get(resp.headers["Location"], headers={"Accept": "application/json"}).json
    assert job["status"] == "done" and not job["stored"]
    assert [e["seq"] for e in job["report"]["errors"]] == ["3", "7", "11"]
    assert count(db) == 0
    # the problems as a spreadsheet, safe like every export
    sheet = client.get(resp.headers["Location"] + "?format=xlsx")
    ws = load_workbook(io.BytesIO(sheet.data)).active
    assert [c.value for c in ws[1]] == ["类型", "行", "序号", "列", "说明"]
    assert ws.max_row == 1 + 3 + 1


@pytest.mark.parametrize(("content", "name"), [(mended_xlsx(), "m.xlsx"), (mended_csv(), "m.csv")])
def test_page_check_then_confirm_imports_once(client, admin, db, content, name):
    f.login(client, admin)
    resp = page_post(client, content, name, "0")
    url = resp.headers["Location"]
    page = client.get(url)
    assert "可以导入：将新增 9 人" in page.text and "确认导入这个文件" in page.text
    assert count(db) == 0
    token = f.csrf(client, url)
    confirm = client.post(url + "/confirm", data={"csrf_token": token})
    assert confirm.status_code == 303
    assert "已导入：新增 9 人" in client.get(url).text
    assert_nine_people(db)
    # a second click (or a replayed form) imports nothing more
    again = client.post(url + "/confirm", data={"csrf_token": token})
    assert again.status_code == 303
    assert count(db) == 9
    assert (
        db.session.scalar(
            sa.select(ImportJob.content).where(ImportJob.id == int(url.rsplit("/", 1)[1]))
        )
        is None
    )  # the file is not kept after the import


def test_page_refuses_a_non_spreadsheet_without_a_job(client, admin, db):
    f.login(client, admin)
    resp = page_post(client, b"%PDF-1.7 binary", "x.xlsx", "1")
    assert resp.status_code == 422 and "PDF" in resp.text
    assert count(db, ImportJob) == 0


def test_page_413_for_a_large_upload(client, admin):
    f.login(client, admin)
    resp = page_post(client, b"a" * (16 * 1024 * 1024 + 10), "big.csv", "1")
    assert resp.status_code == 413


def test_a_large_file_runs_as_a_job_with_progress_any_worker_can_answer(app, client, admin, db):
    from eldercare import create_app

    f.login(client, admin)
    content = big_xlsx(11_000)
    started = time.perf_counter()
    resp = page_post(client, content, "big.xlsx", "1")
    assert resp.status_code == 303
    url = resp.headers["Location"]
    page = client.get(url)
    assert page.status_code == 200 and "data-import-poll" in page.text  # the bar and its poller
    # Another app (another worker process, as far as state goes) answers the polling.
    other = create_app({"TESTING": True}).test_client()
    f.login(other, admin)
    job = poll(other, url)
    elapsed = time.perf_counter() - started
    print(
        f"\n11,000-row import as a page job: {elapsed:.2f} s, "
        f"{len(job['seen'])} polls, phases {sorted({j['phase'] for j in job['seen']})}"
    )
    assert job["status"] == "done", job
    assert job["stored"] and job["report"]["created"] == 11_000
    assert job["rows_done"] == job["rows_total"] == 11_000
    percents = [j["percent"] for j in job["seen"]]
    assert percents == sorted(percents)
    assert count(db) == 11_000
    assert "已导入：新增 11000 人" in client.get(url).text
    # the page can be left and come back to: the list of recent imports links the job
    assert f'href="{url}"' in client.get("/people/import").text


def test_a_job_whose_process_died_shows_as_failed(app, client, admin, db):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host = import_jobs.worker_id().split(":")[0]
    job = ImportJob(
        kind="import",
        status=JobStatus.RUNNING,
        phase="saving",
        filename="x.xlsx",
        user_id=admin.id,
        username="admin",
        worker=f"{host}:{dead}:abcd",
        rows_total=100,
        rows_done=50,
    )
    stale = ImportJob(
        kind="check",
        status=JobStatus.RUNNING,
        filename="y.xlsx",
        user_id=admin.id,
        username="admin",
        worker="elsewhere:1:abcd",
        updated_at=utcnow() - timedelta(hours=1),
    )
    db.session.add_all([job, stale])
    db.session.commit()
    f.login(client, admin)
    for j in (job, stale):
        got = client.get(f"/people/import/{j.id}", headers={"Accept": "application/json"}).json
        assert got["status"] == "failed" and "没有保存任何数据" in got["message"]
    assert "没有保存任何数据" in client.get(f"/people/import/{job.id}").text


def test_a_job_whose_process_was_killed_but_not_yet_reaped_shows_as_failed(app, client, admin, db):
    """A killed worker is a zombie until its parent reaps it; it runs no import."""
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{killed.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        host = import_jobs.worker_id().split(":")[0]
        job = ImportJob(
            kind="import",
            status=JobStatus.RUNNING,
            phase="saving",
            filename="x.csv",
            user_id=admin.id,
            username="admin",
            worker=f"{host}:{killed.pid}:abcd",
            rows_total=10,
            rows_done=5,
        )
        db.session.add(job)
        db.session.commit()
        f.login(client, admin)
        got = client.get(f"/people/import/{job.id}", headers={"Accept": "application/json"})
        assert got.json["status"] == "failed" and "没有保存任何数据" in got.json["message"]
    finally:
        killed.wait()


def test_a_crash_inside_the_job_is_recorded_and_nothing_is_stored(
    app, client, admin, db, monkeypatch
):
    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "save_roster", boom)
    f.login(client, admin)
    resp = page_post(client, mended_csv(), "m.csv", "1")
    job = client.get(resp.headers["Location"], headers={"Accept": "application/json"}).json
    assert job["status"] == "failed" and "没有保存任何数据" in job["message"]
    assert count(db) == 0


# --------------------------------------------------------------------------- roles


def _scope_row(table: str, values: dict) -> int:
    """A facility or provider for a scoped user, without importing the feature: the row
    through the table the feature registered (1 where the feature has no table yet)."""
    from eldercare.extensions import db

    t = db.metadata.tables.get(table)
    if t is None:
        return 1
    result = db.session.execute(t.insert().values(**values))
    db.session.commit()
    return result.inserted_primary_key[0]


def other_user(role: str):
    if role == "manager":
        home = {"name": "测试敬老院", "kind": "care_home"}
        scope = {"facility_id": _scope_row("facilities", home)}
    elif role in ("provider", "worker"):
        scope = {"provider_id": _scope_row("providers", {"name": f"测试服务组织{role}"})}
    else:
        scope = {}
    return f.user(role, **scope)


@pytest.mark.parametrize("role", ["manager", "provider", "worker", "auditor"])
def test_only_admin_imports_through_the_api(client, db, role):
    u = other_user(role)
    for dry in ("true", "false"):
        resp = post(client, f.headers(u), mended_csv(), "r.csv", dry_run=dry)
        assert resp.status_code == 403
        assert resp.json["error"]["code"] == "forbidden"
    assert count(db) == 0


@pytest.mark.parametrize("role", ["manager", "provider", "worker", "auditor"])
def test_only_admin_imports_through_the_page(client, db, admin, role):
    job = import_jobs.create_job(b"x", "x.csv", "check", admin)
    db.session.commit()
    u = other_user(role)
    f.login(client, u)
    token = f.csrf(client, "/password")  # a worker's "/" is the scanner
    assert client.get("/people/import").status_code == 403
    resp = client.post(
        "/people/import",
        data={"file": (io.BytesIO(mended_csv()), "r.csv"), "confirm": "1", "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403
    assert (
        client.get(f"/people/import/{job.id}", headers={"Accept": "application/json"}).status_code
        == 403
    )
    assert (
        client.post(f"/people/import/{job.id}/confirm", data={"csrf_token": token}).status_code
        == 403
    )
    assert count(db) == 0


def test_the_api_needs_a_login(client):
    assert post(client, {}, mended_csv(), "r.csv").status_code == 401


LAUGHS = '<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">' + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
)


@pytest.mark.parametrize(
    ("part", "entities", "used"),
    [
        # harmless, but Excel never writes one: a crafted file
        ("xl/worksheets/sheet", '<!ENTITY n "王德福">', "&n;"),
        ("xl/workbook.xml", '<!ENTITY n "王德福">', ""),
        # "billion laughs": 10^9 characters from a few hundred bytes
        ("xl/worksheets/sheet", LAUGHS, "&i;"),
    ],
)
def test_a_workbook_declaring_entities_is_refused_unread(
    client, admin_headers, db, part, entities, used
):
    """Excel writes no DTD. A part that declares entities is refused outright (openpyxl,
    through defusedxml, would refuse its entities too), and nothing is stored."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(mended_xlsx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith(part):
                body = data.decode().split("?>", 1)[-1]
                if used:
                    body = body.replace("<c ", f'<c t="inlineStr"><is><t>{used}</t></is></c><c ', 1)
                root = body.lstrip()[1:].split()[0]
                data = f'<?xml version="1.0"?><!DOCTYPE {root} [{entities}]>{body}'.encode()
            out.writestr(info, data)
    resp = post(client, admin_headers, buf.getvalue(), "roster.xlsx")
    assert resp.status_code == 422
    assert "DTD" in resp.json["errors"][0]["message"]
    assert count(db) == 0


def test_a_broken_sheet_is_refused_with_a_message(client, admin_headers, db):
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(mended_xlsx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) // 2]
            out.writestr(info, data)
    resp = post(client, admin_headers, buf.getvalue(), "roster.xlsx")
    assert resp.status_code == 422, resp.status_code
    assert count(db) == 0


# --------------------------------------------------------------------------- home point


def test_home_point_columns_are_read_and_stored(client, admin_headers, db, make_person):
    n = numbers(3)
    old = make_person("老住户", id_number=n[2])
    content = (
        (
            "姓名,身份证号码,纬度,经度\n"
            f"甲,{n[0]},31.4601,104.7902\n"
            f"乙,{n[1]},,\n"
            f"老住户,{n[2]},＂31.5°＂,104.8\n"
        )
        .replace("＂", "")
        .encode()
    )
    resp = post(client, admin_headers, content, "home.csv")
    assert resp.status_code == 201, resp.json
    got = people(db)
    assert (got[n[0]].home_lat, got[n[0]].home_lng) == (31.4601, 104.7902)
    assert (got[n[1]].home_lat, got[n[1]].home_lng) == (None, None)
    assert (got[old.id_number].home_lat, got[old.id_number].home_lng) == (31.5, 104.8)


def test_home_point_columns_in_a_workbook(client, admin_headers, db):
    n = numbers(1)
    wb = Workbook()
    wb.active.append(["姓名", "身份证号码", "纬度", "经度"])
    wb.active.append(["甲", n[0], 31.46, 104.79])
    out = io.BytesIO()
    wb.save(out)
    assert post(client, admin_headers, out.getvalue(), "home.xlsx").status_code == 201
    p = people(db)[n[0]]
    assert (p.home_lat, p.home_lng) == (31.46, 104.79)


def test_a_bad_home_point_is_an_error_naming_row_and_column(client, admin_headers, db):
    n = numbers(5)
    content = (
        "姓名,身份证号码,纬度,经度\n"
        f"甲,{n[0]},131.46,104.79\n"
        f"乙,{n[1]},31.46,204.79\n"
        f"丙,{n[2]},31.46,\n"
        f"丁,{n[3]},北纬31度,104.79\n"
        f"戊,{n[4]},nan,104.79\n"
    ).encode()
    resp = post(client, admin_headers, content, "home.csv")
    assert resp.status_code == 422
    got = {(e["row"], e["column"]) for e in resp.json["errors"]}
    assert got == {(2, "纬度"), (3, "经度"), (4, "经度"), (5, "纬度"), (6, "纬度")}
    assert count(db) == 0


def test_half_a_home_point_names_the_column_the_file_has(client, admin_headers, db):
    n = numbers(1)
    content = f"姓名,身份证号码,纬度\n甲,{n[0]},31.46\n".encode()
    resp = post(client, admin_headers, content, "home.csv")
    assert resp.status_code == 422
    assert [(e["row"], e["column"]) for e in resp.json["errors"]] == [(2, "纬度")]


def test_odd_cells_are_read_as_every_upload_reads_them(client, admin_headers, db):
    """Full-width text, ID numbers in full-width digits with a lower-case x, and dates
    written 2026年6月3日 or 20260603 (tests/odd_cells.py): the comparison lists and the
    claim files accept the same."""
    day = date(2024, 3, 1)
    dates = odd_dates(day)
    n = numbers(len(dates))
    header = [
        "序号",
        "姓名",
        "身份证号码",
        "乡镇",
        "类别",
        "供养方式",
        "联系电话",
        "家庭住址",
        "供养开始日期",
    ]
    content = roster_csv(
        [
            [
                full_width(str(i + 1)),
                f"甲{i}",
                odd_id_number(n[i]),
                "魏城镇",
                "老年人",
                "分散",
                full_width("138 0000 0000"),
                "幸福路（东段）１２号",
                text,
            ]
            for i, text in enumerate(dates)
        ],
        header=header,
    )
    resp = post(client, admin_headers, content, "odd.csv")
    assert resp.status_code == 201, resp.json
    assert resp.json["created"] == len(dates)
    got = people(db)
    for number in n:
        p = got[number]
        assert p.current_support.start_date == day
        assert (p.phone, p.address) == ("138 0000 0000", "幸福路(东段)12号")
