"""Reading a comparison list: .xlsx or CSV (UTF-8 with or without BOM, else GBK), the
columns `id_number,name,date` (and `monthly_amount` for income) or their Chinese names.

The type comes from the content, never the file name; eldercare.tabular reads it,
bounded in rows and columns. Every bad cell is reported as
{"row", "column", "message"}: the row number as the spreadsheet shows it, the column
header as written in the file. Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from eldercare import idnumbers, tabular
from eldercare.timeutil import local_today

MAX_ROWS = 200_000  # data rows of one list
HEADER_SEARCH_ROWS = 10

COLUMNS: dict[str, tuple[str, ...]] = {
    "id_number": ("id_number", "身份证号码", "身份证号", "公民身份号码", "证件号码", "身份证"),
    "name": ("name", "姓名"),
    "date": ("date", "日期", "死亡日期", "迁出日期", "注销日期", "变动日期", "发放日期",
             "起始日期"),
    "monthly_amount": ("monthly_amount", "月收入", "月收入金额", "月发放金额", "月养老金",
                       "月领取金额"),
}
_KEYS = {alias.lower(): f for f, names in COLUMNS.items() for alias in names}


@dataclass
class ListRow:
    row: int
    id_number: str
    name: str
    date: date
    monthly_amount: Decimal | None = None


@dataclass
class ParsedList:
    rows: list[ListRow] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def _header_at(values: list) -> dict[str, tuple[int, str]] | None:
    """The known columns of a row (field -> (position, header as written)), when it is
    the header (it names at least the ID number and the name)."""
    cols: dict[str, tuple[int, str]] = {}
    for i, v in enumerate(values):
        key = re.sub(r"[\s（）()*＊]", "", _text(v)).lower()
        f = _KEYS.get(key)
        if f and f not in cols:
            cols[f] = (i, _text(v))
    return cols if "id_number" in cols and "name" in cols else None


def _header_width(rows: list) -> int | None:
    cols = _header_at(rows[-1][1])
    return None if cols is None else max(i for i, _ in cols.values()) + 1


def _table(content: bytes) -> tabular.Table:
    """The list's rows through eldercare.tabular: bounded in rows (MAX_ROWS) and in
    columns (the known ones; a value beyond column IV refuses the file)."""
    return tabular.read_table(content, _header_width, tabular.Limits(
        max_rows=MAX_ROWS + HEADER_SEARCH_ROWS, header_rows=HEADER_SEARCH_ROWS))


def parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = "".join(_text(value).split())
    m = (re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
         or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text))
    if not m:
        raise ValueError("日期应写作 YYYY-MM-DD")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError("没有这一天") from None


def parse_amount(value) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    text = _text(value).replace(",", "").replace("¥", "").replace("元", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("金额应为数字（元）") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1000000"):
        raise ValueError("金额须在 0 到 999999.99 元之间")
    return amount.quantize(Decimal("0.01"))


def read_list(content: bytes, with_amount: bool) -> ParsedList:
    """Every row of the list, or every problem in it (then `rows` must not be used)."""
    out = ParsedList()
    try:
        table = _table(content)
    except tabular.TableError as exc:
        out.error(exc.row, exc.column, exc.message)
        return out
    wanted = ("id_number", "name", "date") + (("monthly_amount",) if with_amount else ())
    if table.header is None:
        out.error(1, None, "找不到表头：须有列 " + ",".join(wanted))
        return out
    pos = table.header
    header_row, values = table.rows[pos]
    cols = _header_at(values) or {}
    for f in wanted:
        if f not in cols:
            out.error(header_row, f, f"缺少列 {f}")
    if out.errors:
        return out
    records = table.rows
    today = local_today()
    for number, values in records[pos + 1:]:
        cells = {f: values[i] if i < len(values) else None for f, (i, _) in cols.items()}
        if all(_text(v) == "" for v in values):
            continue  # blank line
        problems = len(out.errors)
        try:
            id_number = idnumbers.normalize(cells["id_number"])
        except idnumbers.IdNumberError as exc:
            out.error(number, cols["id_number"][1], str(exc))
            id_number = ""
        name = "".join(_text(cells["name"]).split())
        if not name:
            out.error(number, cols["name"][1], "姓名为空")
        elif len(name) > 64:
            out.error(number, cols["name"][1], "姓名过长")
        day = None
        try:
            day = parse_date(cells["date"])
            if day > today:
                out.error(number, cols["date"][1], "日期晚于今天")
        except ValueError as exc:
            out.error(number, cols["date"][1], f"{exc}（{_text(cells['date']) or '空'}）")
        amount = None
        if with_amount:
            try:
                amount = parse_amount(cells["monthly_amount"])
            except ValueError as exc:
                out.error(number, cols["monthly_amount"][1], str(exc))
        if len(out.errors) == problems and day is not None:
            out.rows.append(ListRow(number, id_number, name, day, amount))
    if not out.rows and not out.errors:
        out.error(header_row + 1, None, "名单中没有数据行")
    return out
