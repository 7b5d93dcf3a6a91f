"""The cell parsers every upload shares (eldercare/tabular_cells.py, used as
tabular.text, tabular.day …): what each makes of a cell, and the error it gives."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from eldercare import tabular
from eldercare.idnumbers import IdNumberError, make_number
from tests.odd_cells import full_width, odd_dates, odd_id_number

NUMBER = make_number("510704", date(1945, 3, 12), 21)
NUMBER_X = "11010519491231002X"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (None, ""),
        ("  王德福  ", "王德福"),
        ("\u3000王德福\u3000", "王德福"),
        (full_width("ABC123"), "ABC123"),
        ("幸福路（东段）１２号", "幸福路(东段)12号"),
        (12.0, "12"),
        (12.5, "12.5"),
        (7, "7"),
        (datetime(2026, 6, 3), "2026-06-03"),
        (datetime(2026, 6, 3, 8, 30), "2026-06-03T08:30:00"),
        (date(2026, 6, 3), "2026-06-03"),
        (True, "是"),
    ],
)
def test_text_is_half_width_and_trimmed(cell, expected):
    assert tabular.text(cell) == expected


def test_written_keeps_the_cell_as_the_file_shows_it():
    assert tabular.written(" 村（社区） ") == "村（社区）"
    assert tabular.compact(" 5107 04\u3000１９ ") == "51070419"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-06-03", date(2026, 6, 3)),
        ("2026/6/3", date(2026, 6, 3)),
        ("2026.6.3", date(2026, 6, 3)),
        ("2026年6月3日", date(2026, 6, 3)),
        ("2026 年 6 月 3 日", date(2026, 6, 3)),
        ("2026年6月3", date(2026, 6, 3)),
        ("20260603", date(2026, 6, 3)),
        (20260603, date(2026, 6, 3)),  # a number cell holding the compact form
        (20260603.0, date(2026, 6, 3)),
        (full_width("2026-06-03"), date(2026, 6, 3)),
        (datetime(2026, 6, 3, 0, 0), date(2026, 6, 3)),  # an Excel date cell
        (date(2026, 6, 3), date(2026, 6, 3)),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_dates_in_every_usual_form(cell, expected):
    assert tabular.day(cell) == expected


def test_the_odd_dates_the_readers_are_fed_are_all_one_day():
    assert {tabular.day(text) for text in odd_dates(date(2026, 6, 3))} == {date(2026, 6, 3)}


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("2026-13-01", "没有“2026-13-01”这一天"),
        ("2026年2月30日", "这一天"),
        ("20260230", "这一天"),
        ("3/6/2026", "无法识别"),
        ("六月三日", "无法识别"),
        ("2026-06", "无法识别"),
        ("202663", "无法识别"),
        (46176, "无法识别"),  # an Excel serial number in a cell not formatted as a date
    ],
)
def test_a_date_that_is_none_is_a_clear_error(cell, message):
    with pytest.raises(tabular.CellError) as caught:
        tabular.day(cell)
    assert message in caught.value.message and str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("300", Decimal("300.00")),
        ("300.00", Decimal("300.00")),
        ("300.5", Decimal("300.50")),
        ("￥300", Decimal("300.00")),
        ("¥ 1,200.50", Decimal("1200.50")),
        ("300元", Decimal("300.00")),
        ("RMB 300", Decimal("300.00")),
        (full_width("300.00"), Decimal("300.00")),
        ("￥" + full_width("1,200"), Decimal("1200.00")),
        ("-12.5", Decimal("-12.50")),
        (".5", Decimal("0.50")),
        (300, Decimal("300.00")),
        (300.1, Decimal("300.10")),  # a float cell is read as Excel shows it, never as binary
        (Decimal("12.3"), Decimal("12.30")),
        (None, None),
        ("", None),
    ],
)
def test_amounts_are_decimal_yuan(cell, expected):
    got = tabular.amount(cell)
    assert got == expected
    assert got is None or (isinstance(got, Decimal) and got.as_tuple().exponent == -2)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("三百", "不是数字"),
        ("300.001", "小数超过 2 位"),
        (300.001, "小数超过 2 位"),
        ("1,20", "不是数字"),  # not a thousands separator
        ("1e3", "不是数字"),
        ("nan", "不是数字"),
        (float("inf"), "不是数字"),
        ("￥", "不是金额"),
        (True, "不是数字"),
        ("1" * 40, "过大"),
    ],
)
def test_an_amount_that_is_none_is_a_clear_error(cell, message):
    with pytest.raises(tabular.CellError) as caught:
        tabular.amount(cell)
    assert message in caught.value.message


def test_an_amount_with_any_places_is_left_for_the_caller_to_round():
    assert tabular.amount("666.6667", places=None) == Decimal("666.6667")
    assert tabular.decimal("1.5") == Decimal("1.5")
    with pytest.raises(tabular.CellError):
        tabular.decimal("￥1.5")  # a quantity is no sum of money


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12", 12),
        (12, 12),
        (12.0, 12),
        ("12.0", 12),
        (full_width("12"), 12),
        (" 1,000 ", 1000),
        ("-3", -3),
        (None, None),
        ("", None),
    ],
)
def test_integers(cell, expected):
    assert tabular.integer(cell) == expected


@pytest.mark.parametrize("cell", ["1.5", 1.5, "abc", "12a", "一"])
def test_what_is_not_an_integer_is_a_clear_error(cell):
    with pytest.raises(tabular.CellError):
        tabular.integer(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (NUMBER, NUMBER),
        (odd_id_number(NUMBER), NUMBER),
        (full_width(NUMBER), NUMBER),
        (NUMBER_X.lower(), NUMBER_X),
        (odd_id_number(NUMBER_X), NUMBER_X),
        (f" {NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]} ", NUMBER),
        ("'" + NUMBER, NUMBER),
        (NUMBER[:6] + NUMBER[8:17], NUMBER),  # 15 digits
        (int(NUMBER), NUMBER),
    ],
)
def test_id_numbers(cell, expected):
    info = tabular.id_number(cell)
    assert info.number == expected
    assert info.birth_date == date(int(expected[6:10]), int(expected[10:12]), int(expected[12:14]))


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        (None, "empty"),
        ("", "empty"),
        (5.10704194503122e17, "excel_number"),
        ("5.10704E+17", "excel_number"),
        (NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1"), "check"),
        (NUMBER[:10], "length"),
        ("51070419450312002Y", "characters"),
    ],
)
def test_a_bad_id_number_says_why(cell, code):
    with pytest.raises(IdNumberError) as caught:
        tabular.id_number(cell)
    assert caught.value.code == code and isinstance(caught.value, ValueError)
    assert str(caught.value)  # a message to show beside the row and column


def test_headers_are_found_by_any_of_their_names_however_written():
    headers = tabular.Headers(
        {"id_number": ("id_number", "身份证号码"), "name": ("姓名",), "village": ("村社区",)},
        ("id_number", "name"),
    )
    row = ["序号", " 姓 名 ", "身份证号码（必填）", "村（社区）", "姓名"]
    assert headers.find(row) == {
        "name": (1, "姓 名"),
        "id_number": (2, "身份证号码（必填）"),
        "village": (3, "村（社区）"),
    }
    assert headers.find(["ID Number", "姓名"]) == {
        "id_number": (0, "ID Number"),
        "name": (1, "姓名"),
    }
    assert headers.find(["姓名", "地址"]) is None
    assert headers.known(["姓名", "地址"]) == {"name": (0, "姓名")}
    assert headers.width([(1, ["标题"]), (2, ["x", "姓名", "身份证号码", "y"])]) == 3
    assert headers.width([(1, ["标题"])]) is None
