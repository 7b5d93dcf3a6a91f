"""Reading a claim file (API.md "Claims and reconciliation"): CSV in UTF-8 (with or
without BOM) or GBK, or .xlsx, with the columns
`line_no,visit_id,id_number,service_date,service_code,quantity,amount`.

Reading goes through eldercare.tabular: bounded in lines (MAX_LINES) and in columns
(the claim's own; a value beyond column IV refuses the file), whatever the file holds;
each cell read as every upload reads it (full-width text made half-width; dates as
2026-06-03, 2026/6/3, 2026年6月3日 or 20260603; amounts as 300, 300.00 or ￥300).

All or nothing: every problem is collected with the row as the spreadsheet shows it
(the header is row 1) and the column, and a file with any problem is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from eldercare import tabular
from eldercare.errors import Invalid
from eldercare.idnumbers import IdNumberError

COLUMNS = ("line_no", "visit_id", "id_number", "service_date", "service_code", "quantity", "amount")
MAX_LINES = 200_000


@dataclass
class LineIn:
    line_no: int
    visit_id: int | None
    id_number: str
    service_date: date
    service_code: str
    quantity: Decimal
    amount: Decimal


class ClaimFileInvalid(Invalid):
    """422 with every problem: [{"row", "column", "message"}]."""

    code = "invalid_claim_file"

    def __init__(self, problems: list[dict]):
        self.problems = problems
        shown = "；".join(f"第 {p['row']} 行 {p['column']}：{p['message']}" for p in problems[:20])
        more = f"（另有 {len(problems) - 20} 处）" if len(problems) > 20 else ""
        super().__init__(
            f"申报文件有误，未保存任何内容：{shown}{more}",
            fields={f"row {p['row']}: {p['column']}": p["message"] for p in problems[:200]},
        )


def _file_problem(message: str) -> ClaimFileInvalid:
    return ClaimFileInvalid([{"row": 1, "column": "file", "message": message}])


HEADERS = tabular.Headers({c: (c,) for c in COLUMNS}, COLUMNS)


def _header_width(rows: list) -> int:
    """The claim's header is its first row: the columns up to the last one it needs, or 0
    (read no further) when one is missing, which parse reports."""
    return HEADERS.width(rows) or 0


def read_rows(content: bytes) -> list[tuple[int, list]]:
    """(row number, values) of every row with content, the header first, read through
    eldercare.tabular (bounded: MAX_LINES lines, the claim's own columns). Raises
    ClaimFileInvalid for a file that is no table or too large to be a claim."""
    try:
        table = tabular.read_table(content, _header_width, tabular.Limits(max_rows=MAX_LINES + 1))
    except tabular.TableError as exc:
        raise ClaimFileInvalid(
            [{"row": exc.row or 1, "column": exc.column or "file", "message": exc.message}]
        ) from None
    return table.rows


def _claimed_id(raw) -> str:
    """Normalised where it can be; a number of the right shape whose check character,
    birth date or division is wrong is kept as claimed, for reconciliation to find it
    is nobody's."""
    try:
        return tabular.id_number(raw).number
    except IdNumberError as exc:
        text = tabular.compact(raw).upper()
        if exc.code in ("check", "date", "division") and len(text) == 18:
            return text
        raise


def _ranged(read, low: Decimal, high: Decimal, message: str, *, above_low: bool = False):
    """A parser of a number (`read`: tabular.decimal or tabular.amount) with at most two
    decimals within [low, high] (low itself excluded with `above_low`)."""

    def parse(raw) -> Decimal:
        value = read(raw, places=2)
        if value is None or value < low or (above_low and value == low) or value > high:
            raise tabular.CellError(message)
        return value

    return parse


def _line_no(raw) -> int:
    value = tabular.integer(raw)
    if value is None or value < 1:
        raise tabular.CellError("须为正整数")
    return value


def _visit_id(raw) -> int | None:
    value = tabular.integer(raw)
    if value is not None and not 1 <= value <= 2**62:
        raise tabular.CellError("须为正整数或留空")
    return value


def _service_date(raw) -> date:
    value = tabular.day(raw)
    if value is None:
        raise tabular.CellError(f"必填（{tabular.DAY_FORMATS}）")
    return value


_QUANTITY = _ranged(
    tabular.decimal,
    Decimal(0),
    Decimal(24),
    "数量须为大于 0、不超过 24 的数（最多两位小数）",
    above_low=True,
)
_AMOUNT = _ranged(
    tabular.amount, Decimal(0), Decimal(100_000), "金额须为不小于 0 的数（元，最多两位小数）"
)
PARSERS = {
    "line_no": _line_no,
    "visit_id": _visit_id,
    "id_number": _claimed_id,
    "service_date": _service_date,
    "service_code": tabular.text,
    "quantity": _QUANTITY,
    "amount": _AMOUNT,
}


def parse(content: bytes, service_codes: set[str]) -> list[LineIn]:
    """The lines of a claim file; ClaimFileInvalid naming every bad row and column."""
    rows = read_rows(content)
    if not rows:
        raise _file_problem("文件中没有表头")
    at = HEADERS.known(rows[0][1])
    missing = [c for c in COLUMNS if c not in at]
    if missing:
        raise ClaimFileInvalid(
            [{"row": rows[0][0], "column": c, "message": "缺少该列"} for c in missing]
        )
    problems: list[dict] = []
    lines: list[LineIn] = []
    seen: dict[int, int] = {}
    for rownum, row in rows[1:]:
        cells = {c: row[i] if i < len(row) else None for c, (i, _) in at.items()}
        line = _line(rownum, cells, service_codes, seen, problems)
        if line is not None:
            lines.append(line)
    if problems:
        raise ClaimFileInvalid(problems)
    if not lines:
        raise ClaimFileInvalid([{"row": 2, "column": "line_no", "message": "文件中没有申报明细"}])
    return lines


def _line(
    rownum: int, cells: dict, service_codes: set[str], seen: dict[int, int], problems: list[dict]
) -> LineIn | None:
    """One line read by its columns' parsers; its problems added to `problems`, its
    line number to `seen` (line number -> row)."""
    count = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append({"row": rownum, "column": column, "message": message})

    values: dict = {}
    for column, parse_cell in PARSERS.items():
        try:
            values[column] = parse_cell(cells[column])
        except ValueError as exc:  # tabular.CellError, IdNumberError
            bad(column, str(exc))
    line_no, code = values.get("line_no"), values.get("service_code")
    if line_no in seen:
        bad("line_no", f"与第 {seen[line_no]} 行重复")
    elif line_no is not None:
        seen[line_no] = rownum
    # Codes ignore case (`jj-01` is the catalogue's `JJ-01`); the line keeps the catalogue's.
    known = {c.lower(): c for c in service_codes}
    if code is not None and code.lower() not in known:
        bad("service_code", f"价目表中没有服务项目“{code}”" if code else "必填")
    elif code:
        values["service_code"] = known[code.lower()]
    return LineIn(**values) if len(problems) == count else None
