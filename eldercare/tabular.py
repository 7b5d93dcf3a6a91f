"""The one bounded reader of uploaded tables: rosters, comparison lists, claim files.

One upload could take the machine down: a 295 KiB workbook whose 60,000 rows each held
one cell in column XFD grew a server from 133 MiB to over 7 GiB (openpyxl pads every
row to the sheet's last column), and a 16 MiB CSV of empty lines was read whole before
any line limit. Here a table is read as a stream, and nothing grows with what a caller
does not need:

* The type comes from the content (``sniff``). Text is decoded as UTF-8 (with or
  without BOM), UTF-16 with a BOM, else GBK (as GB18030, its superset), incrementally:
  the decoded text is never held whole.
* Rows are read in order until the header is found (within ``header_rows`` rows of
  content, each at most ``width`` columns wide). The caller's ``header`` function
  tells from the rows so far whether the last one is its header and how many columns
  it needs; every later row is cut to those columns as it is read, so a cell far to
  the right is never materialised.
* A value beyond ``width`` columns (256, what a .xls could hold: no roster or claim
  is wider) refuses the file, naming the cell; so do more rows with content than
  ``max_rows``, more rows of any kind than a sheet can have (1,048,576), a CSV line
  longer than ``MAX_LINE_CHARS`` and a workbook that unzips beyond ``max_unpacked``.
  Each refusal is a ``TableError`` with a message in Chinese and, where there is one,
  the row and column (callers answer 422 with it).
* Workbooks are read from the sheet XML with expat (no DTD, no entities: an upload with
  either is refused), shared strings and date styles included; openpyxl, read-only
  and bounded by ``max_col``, only reads what that parser does not understand.

Headers are found the same way for every upload (``Headers``: a column's known names
compared after ``header_key``, eldercare/tabular_headers.py), and every cell is read by
one parser (text, dates, amounts, integers, ID numbers: eldercare/tabular_cells.py, used
as ``tabular.day`` …), so that every upload accepts the same things.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from .tabular_cells import (  # noqa: F401  # the cell parsers, used as tabular.<name>
    DAY_FORMATS,
    CellError,
    amount,
    compact,
    day,
    decimal,
    id_number,
    integer,
    text,
    written,
)
from .tabular_headers import Columns, Headers, header_key  # noqa: F401  # used as tabular.<name>

WIDTH = 256  # columns: what a .xls could hold
SHEET_ROWS = 1_048_576  # rows: what an .xlsx can hold; more lines are not a table
HEADER_ROWS = 30  # rows with content searched for the header
MAX_LINE_CHARS = 1 << 20  # one CSV line: 256 generous cells are far less
MAX_UNPACKED = 256 * 1024 * 1024  # a 16 MiB upload that unzips beyond this is a zip bomb
MAX_SHARED_STRINGS = 4_000_000
CHUNK = 1 << 16

Row = tuple[int, list]  # (row number as the spreadsheet shows it, cell values)
# The rows so far (the last one is the candidate) -> columns the caller needs from the
# header on, 0 for none (stop reading: the caller will refuse the file anyway), or None
# when the last row is not the header.
HeaderTest = Callable[[list[Row]], int | None]
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class TableError(ValueError):
    """The upload cannot be read as a table, or is too large to be one. ``row`` and
    ``column`` (the column's letters) say where, when a place is to blame."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message, self.row, self.column = message, row, column


@dataclass
class Table:
    rows: list[Row]  # blank rows left out
    header: int | None  # position in rows of the header, None when none was found
    file_type: str  # "xlsx", "csv/utf-8", "csv/gbk", "csv/utf-16"


@dataclass(frozen=True)
class Limits:
    max_rows: int  # rows with content, the header included
    width: int = WIDTH
    header_rows: int = HEADER_ROWS
    max_unpacked: int = MAX_UNPACKED


def letters(index: int) -> str:
    """The column letters of a 0-based index (0 -> A, 16383 -> XFD)."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def too_wide(row: int, col: int, width: int) -> TableError:
    return TableError(
        f"表格过宽：第 {row} 行的 {letters(col)} 列有内容，超出 {width} 列。"
        "请删去右侧多余的列后再上传。",
        row,
        letters(col),
    )


def _too_many(limits: Limits, row: int) -> TableError:
    return TableError(f"行数过多：超过 {limits.max_rows} 行。请分成几个文件上传。", row)


# --------------------------------------------------------------------------- type


def sniff(content: bytes) -> str:
    """'xlsx' or 'text' from the content; TableError for anything else."""
    if not content:
        raise TableError("文件是空的。")
    head = content[:8]
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise TableError(
            "这是旧版 Excel（.xls）文件，无法读取。请在 Excel 中“另存为”"
            " Excel 工作簿（.xlsx）或 CSV 后再上传。"
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if head.startswith(b"%PDF"):
        raise TableError("这是 PDF 文件，不是表格。请上传 .xlsx 或 .csv 文件。")
    if b"\x00" in content[:8192]:
        raise TableError(
            "文件不是 .xlsx 或 .csv 表格（内容为二进制数据）。"
            "请上传 Excel 工作簿（.xlsx）或 CSV 文件。"
        )
    return "text"


def read_table(
    content: bytes,
    header: HeaderTest,
    limits: Limits,
    *,
    delimiters: tuple[str, ...] = (",",),
    all_sheets: bool = False,
    progress: Progress | None = None,
) -> Table:
    """Read an uploaded table: the rows with content, cut to the columns the header
    needs. Tries each delimiter (CSV) or each sheet, the active one first (a workbook,
    with `all_sheets`), until `header` finds the header; without one, the first try's
    rows are returned (header None) for the caller to say so. Raises TableError."""
    if sniff(content) == "xlsx":
        return _read_xlsx(content, header, limits, all_sheets, progress)
    encoding = _encoding(content)
    first: Table | None = None
    for delimiter in delimiters:
        table = _collect(
            _csv_rows(content, encoding, delimiter, limits), header, limits, f"csv/{encoding}"
        )
        if table.header is not None:
            return table
        first = first or table
    assert first is not None  # nosec B101 # at least one delimiter
    return first


def _collect(
    rows: Generator[Row | None, int | None, None],
    header: HeaderTest,
    limits: Limits,
    file_type: str,
) -> Table:
    """Rows with content until the header (at most header_rows), then the rest cut to
    the header's columns. `rows` yields (number, values) and takes the number of columns
    to keep through send()."""
    try:
        return _collect_rows(rows, header, limits, file_type)
    finally:
        rows.close()  # a file left half read: its zip member or text stream closes now


def _collect_rows(rows, header: HeaderTest, limits: Limits, file_type: str) -> Table:
    out: list[Row] = []
    found: int | None = None
    for number, values in rows:
        if found is None:
            out.append((number, values))
            need = header(out)
            if need is not None:
                found = len(out) - 1
                if need == 0:
                    break
                rows.send(need)  # narrower rows from here on
            elif len(out) >= limits.header_rows:
                break
            continue
        if len(out) >= limits.max_rows:
            raise _too_many(limits, number)
        out.append((number, values))
    return Table(out, found, file_type)


# --------------------------------------------------------------------------- text


def _encoding(content: bytes) -> str:
    """The text's encoding, checked in chunks (the text is never decoded whole)."""
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for name, label in (("utf-8", "utf-8"), ("gb18030", "gbk")):
        decoder = codecs.getincrementaldecoder(name)()
        try:
            for at in range(0, len(content), CHUNK):
                decoder.decode(content[at : at + CHUNK])
            decoder.decode(b"", final=True)
            return label
        except UnicodeDecodeError:
            continue
    raise TableError("无法识别文件的文字编码。请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后再上传。")


_CODECS = {"utf-8": "utf-8-sig", "gbk": "gb18030", "utf-16": "utf-16"}


def _lines(content: bytes, encoding: str, delimiter: str, width: int) -> Iterator[str]:
    """The text's lines, decoded a chunk at a time; TableError for a line too long or
    too wide to be a row of a table (a quoted delimiter counts too: only ever more)."""
    stream = io.TextIOWrapper(io.BytesIO(content), encoding=_CODECS[encoding], newline="")
    for number, line in enumerate(stream, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise TableError(
                f"第 {number} 行过长（超过 {MAX_LINE_CHARS} 个字符），不是正常的表格。", number
            )
        if line.count(delimiter) >= width:
            raise too_wide(number, width, width)
        if number == 1 and "\x00" in line:
            raise TableError("文件不是 .xlsx 或 .csv 表格。")
        yield line


def _csv_rows(content: bytes, encoding: str, delimiter: str, limits: Limits):
    """(record number, values) of every CSV record with content; send() a column count
    to cut the following records to it. Blank records count toward SHEET_ROWS only."""
    keep = limits.width
    reader = csv.reader(_lines(content, encoding, delimiter, limits.width), delimiter=delimiter)
    number = 0
    try:
        for values in reader:
            number += 1
            if number > SHEET_ROWS:
                raise TableError(f"行数过多：超过 {SHEET_ROWS} 行，不是正常的表格。", number)
            values = values[:keep]
            if not values or not "".join(values).strip():
                continue
            got = yield number, values
            if got is not None:
                keep = got
                yield None  # what send() returns
    except csv.Error as exc:
        raise TableError(f"CSV 格式有误：{exc}", number + 1) from None
    except UnicodeDecodeError:
        raise TableError("文件的文字编码有误，无法读取。") from None


# --------------------------------------------------------------------------- workbooks


def _read_xlsx(
    content: bytes, header: HeaderTest, limits: Limits, all_sheets: bool, progress: Progress | None
) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            if "xl/workbook.xml" not in set(zf.namelist()):
                raise TableError(
                    "这是一个压缩文件，但不是 Excel 工作簿（.xlsx）。请上传 .xlsx 或 .csv 文件。"
                )
            if sum(info.file_size for info in zf.infolist()) > limits.max_unpacked:
                raise TableError("工作簿解压后过大，无法读取。请只保留所需的一张表后再上传。")
            try:
                from . import tabular_xlsx

                book = tabular_xlsx.open_book(zf)
                first: Table | None = None
                for path in book.sheets if all_sheets else book.sheets[:1]:
                    table = _collect(
                        tabular_xlsx.rows(book, path, limits, progress), header, limits, "xlsx"
                    )
                    if table.header is not None:
                        return table
                    first = first or table
                return first or Table([], None, "xlsx")
            except TableError:
                raise
            except Exception:  # noqa: S110  # nosec B110 # something openpyxl reads, below
                pass
    except zipfile.BadZipFile:
        raise TableError(
            "文件看似 .xlsx 但已损坏，无法打开。请在 Excel 中重新保存后上传。"
        ) from None
    return _openpyxl(content, header, limits, all_sheets)


def _openpyxl(content: bytes, header: HeaderTest, limits: Limits, all_sheets: bool) -> Table:
    """openpyxl for what the stream reader does not understand: read-only, and never
    wider than `width` columns (max_col), so no row is padded beyond it."""
    from openpyxl import load_workbook

    def unreadable(exc: Exception) -> TableError:
        return TableError(
            f"无法读取该 Excel 工作簿（{type(exc).__name__}）。请在 Excel 中重新保存后上传。"
        )

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise unreadable(exc) from None
    try:
        sheets = [wb.active] + [ws for ws in wb.worksheets if ws is not wb.active]
        first: Table | None = None
        for ws in sheets if all_sheets else sheets[:1]:
            if ws is None or not hasattr(ws, "iter_rows"):
                continue
            table = _collect(_openpyxl_rows(ws, limits), header, limits, "xlsx")
            if table.header is not None:
                return table
            first = first or table
        return first or Table([], None, "xlsx")
    except TableError:
        raise
    except Exception as exc:  # read-only sheets are parsed as they are read: broken XML
        raise unreadable(exc) from None
    finally:
        wb.close()


def _openpyxl_rows(ws, limits: Limits):
    keep = limits.width
    for number, values in enumerate(ws.iter_rows(max_col=limits.width, values_only=True), start=1):
        if number > SHEET_ROWS:
            raise TableError(f"行数过多：超过 {SHEET_ROWS} 行。", number)
        values = list(values[:keep])
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        got = yield number, values
        if got is not None:
            keep = got
            yield None


# --------------------------------------------------------------------------- headers, cells
# The headers live in eldercare/tabular_headers.py and the cell parsers in
# eldercare/tabular_cells.py (this file would be too long to read in one sitting with
# them); both are used from here: tabular.Headers, tabular.text, tabular.day …
