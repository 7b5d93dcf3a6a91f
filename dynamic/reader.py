"""Reading a comparison list: .xlsx or CSV (UTF-8 with or without BOM, else GBK), the
columns `id_number,name,date` (and `monthly_amount` for income) or their Chinese names.

The type comes from the content, never the file name; eldercare.tabular reads it,
bounded in rows and columns, and reads each cell as every upload does (full-width text
made half-width; dates as 2026-06-03, 2026/6/3, 2026年6月3日 or 20260603; amounts as
300, 300.00 or ￥300). Every bad cell is reported as
{"row", "column", "message"}: the row number as the spreadsheet shows it, the column
header as written in the file. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from eldercare import tabular
from eldercare.database import to_money
from eldercare.timeutil import local_today

MAX_ROWS = 200_000  # data rows of one list
HEADER_SEARCH_ROWS = 10

COLUMNS: dict[str, tuple[str, ...]] = {
    "id_number": ("id_number", "身份证号码", "身份证号", "公民身份号码", "证件号码", "身份证"),
    "name": ("name", "姓名"),
    "date": (
        "date",
        "日期",
        "死亡日期",
        "迁出日期",
        "注销日期",
        "变动日期",
        "发放日期",
        "起始日期",
    ),
    "monthly_amount": (
        "monthly_amount",
        "月收入",
        "月收入金额",
        "月发放金额",
        "月养老金",
        "月领取金额",
    ),
}


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


HEADERS = tabular.Headers(COLUMNS, ("id_number", "name"))


def _table(content: bytes) -> tabular.Table:
    """The list's rows through eldercare.tabular: bounded in rows (MAX_ROWS) and in
    columns (the known ones; a value beyond column IV refuses the file)."""
    return tabular.read_table(
        content,
        HEADERS.width,
        tabular.Limits(max_rows=MAX_ROWS + HEADER_SEARCH_ROWS, header_rows=HEADER_SEARCH_ROWS),
    )


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
    header_row, values = table.rows[table.header]
    cols = HEADERS.find(values) or {}
    for f in wanted:
        if f not in cols:
            out.error(header_row, f, f"缺少列 {f}")
    if out.errors:
        return out
    today = local_today()
    for number, values in table.rows[table.header + 1 :]:
        row = _read_row(
            out,
            number,
            {f: (values[i] if i < len(values) else None, name) for f, (i, name) in cols.items()},
            today,
        )
        if row is not None:
            out.rows.append(row)
    if not out.rows and not out.errors:
        out.error(header_row + 1, None, "名单中没有数据行")
    return out


def _read_row(
    out: ParsedList, number: int, cells: dict[str, tuple[object, str]], today: date
) -> ListRow | None:
    """One row ({field: (cell, header as written)}); its problems go to `out`."""
    problems = len(out.errors)

    def read(f: str, parse):
        value, column = cells[f]
        try:
            return parse(value)
        except ValueError as exc:  # tabular.CellError, idnumbers.IdNumberError
            out.error(number, column, str(exc))
            return None

    info = read("id_number", tabular.id_number)
    name = tabular.compact(cells["name"][0])
    if not name or len(name) > 64:
        out.error(number, cells["name"][1], "姓名过长" if name else "姓名为空")
    day = read("date", lambda value: _past_day(value, today))
    amount = read("monthly_amount", _monthly) if "monthly_amount" in cells else None
    if len(out.errors) > problems or info is None or day is None:
        return None
    return ListRow(number, info.number, name, day, amount)


def _past_day(value, today: date) -> date:
    day = tabular.day(value)
    if day is None:
        raise tabular.CellError("日期为空")
    if day > today:
        raise tabular.CellError("日期晚于今天")
    return day


def _monthly(value) -> Decimal:
    """A monthly amount in yuan, rounded to the fen (incomes are often computed)."""
    amount = tabular.amount(value, places=None)
    if amount is None:
        raise tabular.CellError("金额为空")
    if not 0 <= amount < 1_000_000:
        raise tabular.CellError("金额须在 0 到 999999.99 元之间")
    return to_money(amount)  # half up, as every amount is
