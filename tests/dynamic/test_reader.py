"""Reading a comparison list (dynamic/reader.py) on its own: the columns by either name,
every bad cell reported with the row and header as the spreadsheet shows them, dates
never after today, monthly amounts from 0 to 999999.99 yuan rounded to the fen."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dynamic.reader import read_list
from eldercare.timeutil import local_today
from tests import factories as f

NUMBER = f.new_id_number()


def csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def test_english_and_chinese_headers_read_the_same_rows():
    english = read_list(csv("id_number,name,date", f"{NUMBER},张三,2026-06-03"), False)
    chinese = read_list(csv("身份证号码,姓名,死亡日期", f"{NUMBER},张三,2026年6月3日"), False)
    assert english.errors == chinese.errors == []
    assert [(r.row, r.id_number, r.name, r.date) for r in english.rows] == [
        (2, NUMBER, "张三", date(2026, 6, 3))
    ]
    assert chinese.rows == english.rows


def test_a_gbk_file_with_the_header_below_a_title_is_read():
    content = csv(
        "2026年6月死亡人员名单",
        "",
        "公民身份号码,姓名,注销日期",
        f"{NUMBER},张三,20260603",
        encoding="gbk",
    )
    parsed = read_list(content, False)
    assert parsed.errors == []
    assert [(r.row, r.name, r.date) for r in parsed.rows] == [(4, "张三", date(2026, 6, 3))]


def test_a_missing_column_is_named_and_no_row_is_read():
    parsed = read_list(csv("身份证号码,姓名", f"{NUMBER},张三"), False)
    assert parsed.errors == [{"row": 1, "column": "date", "message": "缺少列 date"}]
    assert parsed.rows == []


def test_an_income_list_needs_its_monthly_amount():
    parsed = read_list(csv("身份证号码,姓名,日期", f"{NUMBER},张三,2026-06-03"), True)
    assert [e["column"] for e in parsed.errors] == ["monthly_amount"]


def test_a_file_without_a_header_or_without_rows_is_refused():
    assert read_list(csv("a,b,c", "1,2,3"), False).errors[0]["message"].startswith("找不到表头")
    empty = read_list(csv("身份证号码,姓名,日期"), False)
    assert empty.errors == [{"row": 2, "column": None, "message": "名单中没有数据行"}]


def test_a_date_of_today_is_read_and_tomorrow_is_refused():
    today = local_today()
    parsed = read_list(
        csv(
            "身份证号码,姓名,日期",
            f"{NUMBER},张三,{today.isoformat()}",
            f"{f.new_id_number()},李四,{(today + timedelta(days=1)).isoformat()}",
        ),
        False,
    )
    assert [r.name for r in parsed.rows] == ["张三"]
    assert parsed.errors == [{"row": 3, "column": "日期", "message": "日期晚于今天"}]


def test_every_bad_cell_of_a_row_is_reported_under_its_header_as_written():
    parsed = read_list(
        csv("身份证号,姓名,变动日期", "510704194503120000,,", f"{NUMBER},张三,某天"), False
    )
    by_cell = {(e["row"], e["column"]) for e in parsed.errors}
    assert by_cell == {(2, "身份证号"), (2, "姓名"), (2, "变动日期"), (3, "变动日期")}
    assert parsed.rows == []


def test_a_name_of_64_characters_is_read_and_65_is_too_long():
    ok, long = "张" * 64, "张" * 65
    parsed = read_list(
        csv(
            "身份证号码,姓名,日期",
            f"{NUMBER},{ok},2026-06-03",
            f"{f.new_id_number()},{long},2026-06-03",
        ),
        False,
    )
    assert [r.name for r in parsed.rows] == [ok]
    assert parsed.errors == [{"row": 3, "column": "姓名", "message": "姓名过长"}]


def test_full_width_text_is_made_half_width():
    wide = NUMBER.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    parsed = read_list(csv("身份证号码,姓名,日期", f"{wide},张　三,２０２６-０６-０３"), False)
    assert parsed.errors == []
    assert [(r.id_number, r.name, r.date) for r in parsed.rows] == [
        (NUMBER, "张三", date(2026, 6, 3))
    ]


@pytest.mark.parametrize(
    "cell, amount",
    [
        ("0", Decimal("0.00")),
        ("999999.99", Decimal("999999.99")),
        ("￥300", Decimal("300.00")),
        ("1234.565", Decimal("1234.57")),
        ("1234.564", Decimal("1234.56")),
    ],
)
def test_monthly_amounts_from_nothing_to_just_under_a_million_rounded_to_the_fen(cell, amount):
    parsed = read_list(csv("身份证号码,姓名,日期,月收入", f"{NUMBER},张三,2026-06-03,{cell}"), True)
    assert parsed.errors == []
    assert parsed.rows[0].monthly_amount == amount


@pytest.mark.parametrize(
    "cell, message",
    [
        ("1000000", "金额须在 0 到 999999.99 元之间"),
        ("-0.01", "金额须在 0 到 999999.99 元之间"),
        ("", "金额为空"),
    ],
)
def test_monthly_amounts_out_of_range_or_missing_are_refused(cell, message):
    parsed = read_list(csv("身份证号码,姓名,日期,月收入", f"{NUMBER},张三,2026-06-03,{cell}"), True)
    assert parsed.errors == [{"row": 2, "column": "月收入", "message": message}]
