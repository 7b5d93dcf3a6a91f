"""Reading a claim file (API.md "Claims and reconciliation"): CSV in UTF-8 (with or
without BOM) or GBK, or .xlsx, with the columns
`line_no,visit_id,id_number,service_date,service_code,quantity,amount`.

Reading goes through eldercare.tabular: bounded in lines (MAX_LINES) and in columns
(the claim's own; a value beyond column IV refuses the file), whatever the file holds.

All or nothing: every problem is collected with the row as the spreadsheet shows it
(the header is row 1) and the column, and a file with any problem is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from eldercare import tabular
from eldercare.errors import Invalid
from eldercare.idnumbers import IdNumberError, normalize

COLUMNS = ("line_no", "visit_id", "id_number", "service_date", "service_code", "quantity",
           "amount")
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
        super().__init__(f"申报文件有误，未保存任何内容：{shown}{more}",
                         fields={f"row {p['row']}: {p['column']}": p["message"]
                                 for p in problems[:200]})


def _file_problem(message: str) -> ClaimFileInvalid:
    return ClaimFileInvalid([{"row": 1, "column": "file", "message": message}])


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _header_width(rows: list) -> int:
    """The claim's header is its first row: the columns up to the last one it needs, or 0
    (read no further) when one is missing, which parse reports."""
    header = [_text(c).lower().lstrip("\ufeff") for c in rows[-1][1]]
    if not all(c in header for c in COLUMNS):
        return 0
    return max(header.index(c) for c in COLUMNS) + 1


def read_rows(content: bytes) -> list[tuple[int, list]]:
    """(row number, values) of every row with content, the header first, read through
    eldercare.tabular (bounded: MAX_LINES lines, the claim's own columns). Raises
    ClaimFileInvalid for a file that is no table or too large to be a claim."""
    try:
        table = tabular.read_table(content, _header_width, tabular.Limits(max_rows=MAX_LINES + 1))
    except tabular.TableError as exc:
        raise ClaimFileInvalid([{"row": exc.row or 1, "column": exc.column or "file",
                                 "message": exc.message}]) from None
    return table.rows


def _parse_date(raw) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = _text(raw).replace("/", "-").replace(".", "-")
    try:
        y, m, d = (int(p) for p in text.split("-"))
        return date(y, m, d)
    except ValueError:
        return None


def _decimal(raw, places: int = 2) -> Decimal | None:
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(_text(raw))
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-places)):
        return None
    return value.quantize(Decimal(1).scaleb(-places))


def _id_number(raw) -> str | None:
    """Normalised where it can be (15 digits, lower-case x); a number with a wrong check
    character is kept as claimed, for reconciliation to find it is nobody's."""
    text = _text(raw).replace(" ", "").upper()
    try:
        return normalize(text)
    except IdNumberError:
        pass
    if len(text) == 18 and text[:17].isdigit() and (text[17].isdigit() or text[17] == "X"):
        return text
    return None


def parse(content: bytes, service_codes: set[str]) -> list[LineIn]:
    """The lines of a claim file; ClaimFileInvalid naming every bad row and column."""
    rows = read_rows(content)
    if not rows:
        raise _file_problem("文件中没有表头")
    header = [_text(c).lower().lstrip("\ufeff") for c in rows[0][1]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ClaimFileInvalid([{"row": rows[0][0], "column": c, "message": "缺少该列"}
                                for c in missing])
    at = {c: header.index(c) for c in COLUMNS}
    problems: list[dict] = []
    lines: list[LineIn] = []
    seen: dict[int, int] = {}
    for rownum, row in rows[1:]:
        if not any(_text(c) for c in row):
            continue
        cell = {c: (row[i] if i < len(row) else None) for c, i in at.items()}

        def bad(column: str, message: str, rownum=rownum) -> None:
            problems.append({"row": rownum, "column": column, "message": message})

        line_no = _text(cell["line_no"])
        if not line_no.isdigit() or int(line_no) < 1:
            bad("line_no", "须为正整数")
        elif int(line_no) in seen:
            bad("line_no", f"与第 {seen[int(line_no)]} 行重复")
        else:
            seen[int(line_no)] = rownum
        visit = _text(cell["visit_id"])
        if visit and (not visit.isdigit() or int(visit) < 1 or int(visit) > 2**62):
            bad("visit_id", "须为正整数或留空")
        number = _id_number(cell["id_number"])
        if number is None:
            bad("id_number", "身份证号须为 18 位（或 15 位旧号）")
        day = _parse_date(cell["service_date"])
        if day is None:
            bad("service_date", "日期须为 YYYY-MM-DD")
        code = _text(cell["service_code"])
        if code not in service_codes:
            bad("service_code", f"价目表中没有服务项目“{code}”" if code else "必填")
        qty = _decimal(cell["quantity"])
        if qty is None or qty <= 0 or qty > 24:
            bad("quantity", "数量须为大于 0、不超过 24 的数（最多两位小数）")
        amount = _decimal(cell["amount"])
        if amount is None or amount < 0 or amount > 100_000:
            bad("amount", "金额须为不小于 0 的数（元，最多两位小数）")
        if not problems or problems[-1]["row"] != rownum:
            lines.append(LineIn(int(line_no), int(visit) if visit else None, number, day, code,
                                qty, amount))
    if problems:
        raise ClaimFileInvalid(problems)
    if not lines:
        raise ClaimFileInvalid([{"row": 2, "column": "line_no", "message": "文件中没有申报明细"}])
    return lines
