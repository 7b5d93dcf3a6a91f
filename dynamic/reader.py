"""Reading a comparison list: .xlsx or CSV (UTF-8 with or without BOM, else GBK), the
columns `id_number,name,date` (and `monthly_amount` for income) or their Chinese names.

The type comes from the content, never the file name. Every bad cell is reported as
{"row", "column", "message"}: the row number as the spreadsheet shows it, the column
header as written in the file. Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from eldercare import idnumbers
from eldercare.timeutil import local_today

MAX_UNPACKED = 128 * 1024 * 1024  # a 16 MiB upload that unzips beyond this is refused
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


def _decode(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("gb18030")  # GBK's superset


def _records(content: bytes) -> list[tuple[int, list]]:
    """(row number as shown, cell values) of the first sheet or the CSV; ValueError with
    a message for a file that is no table."""
    if not content:
        raise ValueError("文件是空的")
    if content.startswith(b"PK\x03\x04"):
        return _xlsx(content)
    if content.startswith(b"\xd0\xcf\x11\xe0") or b"\x00" in content[:4096]:
        raise ValueError("文件不是 .xlsx 或 CSV 表格（旧版 .xls 请另存为 .xlsx）")
    try:
        text = _decode(content)
    except UnicodeDecodeError:
        raise ValueError("无法识别文件的文字编码，请另存为 CSV UTF-8 或 .xlsx") from None
    try:
        return list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as exc:
        raise ValueError(f"CSV 格式有误：{exc}") from None


def _xlsx(content: bytes) -> list[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            if "xl/workbook.xml" not in zf.namelist():
                raise ValueError("压缩文件不是 Excel 工作簿（.xlsx）")
            if sum(i.file_size for i in zf.infolist()) > MAX_UNPACKED:
                raise ValueError("工作簿解压后过大")
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError):
        raise ValueError("Excel 文件已损坏，无法打开") from None
    except ValueError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ValueError(f"无法读取该 Excel 工作簿（{type(exc).__name__}）") from None
    try:
        ws = wb.worksheets[0]
        return [(i, list(v)) for i, v in enumerate(ws.iter_rows(values_only=True), start=1)]
    except Exception as exc:  # a read-only sheet is parsed as it is read: broken XML here
        raise ValueError(f"无法读取该 Excel 工作簿（{type(exc).__name__}）") from None
    finally:
        wb.close()


def _header(records, wanted: tuple[str, ...]):
    for pos, (number, values) in enumerate(records[:HEADER_SEARCH_ROWS]):
        cols: dict[str, tuple[int, str]] = {}
        for i, v in enumerate(values):
            key = re.sub(r"[\s（）()*＊]", "", _text(v)).lower()
            f = _KEYS.get(key)
            if f and f not in cols:
                cols[f] = (i, _text(v))
        if "id_number" in cols and "name" in cols:
            return pos, number, cols
    return None


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
        records = _records(content)
    except ValueError as exc:
        out.error(None, None, str(exc))
        return out
    wanted = ("id_number", "name", "date") + (("monthly_amount",) if with_amount else ())
    found = _header(records, wanted)
    if found is None:
        out.error(1, None, "找不到表头：须有列 " + ",".join(wanted))
        return out
    pos, header_row, cols = found
    for f in wanted:
        if f not in cols:
            out.error(header_row, f, f"缺少列 {f}")
    if out.errors:
        return out
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
