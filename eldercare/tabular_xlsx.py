"""Workbook sheets read as a stream of rows (eldercare.tabular's reader for .xlsx).

openpyxl builds an object per cell and pads every row to the sheet's last column (60,000
rows with one cell in XFD became a billion cells); this reads the sheet XML with expat,
a chunk at a time, and keeps of each row only the columns the caller still needs: a cell
to their right costs a comparison, and one beyond the width limit refuses the file.
Values as openpyxl gives them with data_only: shared and inline strings, numbers (int
where whole), booleans, dates where the cell's style is a date format (openpyxl's own
helpers decide that and convert), error codes as their text.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .tabular import (
    CHUNK,
    MAX_SHARED_STRINGS,
    SHEET_ROWS,
    Limits,
    Progress,
    TableError,
    too_wide,
)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_REF = re.compile(r"([A-Z]{1,3})(\d+)$")


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _no_dtd(*_args) -> None:
    # Excel writes no DTD: one in an uploaded part can only be an entity bomb or an
    # external entity. Refused outright.
    raise TableError(
        "无法读取该 Excel 工作簿（含有 Excel 不会写入的 DTD 声明）。请在 Excel 中重新保存后上传。"
    )


def _expat(handlers: dict):
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator="|")
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    for name, fn in handlers.items():
        setattr(parser, name, fn)
    return parser


def _parse(zf: zipfile.ZipFile, path: str, handlers: dict) -> None:
    parser = _expat(handlers)
    with zf.open(path) as fh:
        parser.ParseFile(fh)


@dataclass
class Book:
    zf: zipfile.ZipFile
    sheets: list[str]  # paths, the active sheet first
    epoch1904: bool
    _shared: list[str] | None = None
    _dates: set[int] | None = None

    @property
    def shared(self) -> list[str]:
        if self._shared is None:
            self._shared = _shared_strings(self.zf, "xl/sharedStrings.xml")
        return self._shared

    @property
    def dates(self) -> set[int]:
        if self._dates is None:
            self._dates = _date_styles(self.zf, "xl/styles.xml")
        return self._dates


def open_book(zf: zipfile.ZipFile) -> Book:
    """The workbook's sheets (the active one first) and its date system."""
    from defusedxml import DTDForbidden
    from defusedxml import ElementTree as ET  # the workbook's index is small

    try:
        wb = ET.fromstring(zf.read("xl/workbook.xml"), forbid_dtd=True)
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
    except DTDForbidden:
        _no_dtd()
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")}
    paths = []
    for sheet in wb.iter(f"{{{NS_MAIN}}}sheet"):
        target = targets[sheet.get(f"{{{NS_REL}}}id")]
        paths.append(
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join("xl", target))
        )
    if not paths:
        raise ValueError("no sheets")  # not a TableError: openpyxl may know better
    view = wb.find(f"{{{NS_MAIN}}}bookViews/{{{NS_MAIN}}}workbookView")
    active = int(view.get("activeTab", 0)) if view is not None else 0
    if 0 <= active < len(paths):
        paths.insert(0, paths.pop(active))
    pr = wb.find(f"{{{NS_MAIN}}}workbookPr")
    return Book(zf, paths, pr is not None and pr.get("date1904") in ("1", "true"))


def _shared_strings(zf: zipfile.ZipFile, path: str) -> list[str]:
    out: list[str] = []
    if path not in zf.namelist():
        return out
    state = {"in_t": False, "phonetic": 0, "buf": []}
    si, t, rph = f"{NS_MAIN}|si", f"{NS_MAIN}|t", f"{NS_MAIN}|rPh"

    def start(name, _attrs):
        if name == t:
            state["in_t"] = True
        elif name == rph:
            state["phonetic"] += 1
        elif name == si:
            state["buf"] = []

    def end(name):
        if name == t:
            state["in_t"] = False
        elif name == rph:
            state["phonetic"] -= 1
        elif name == si:
            if len(out) >= MAX_SHARED_STRINGS:
                raise TableError("工作簿中的文字过多，不是正常的表格。")
            out.append("".join(state["buf"]))

    def chars(data):
        if state["in_t"] and not state["phonetic"]:
            state["buf"].append(data)

    _parse(
        zf,
        path,
        {"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": chars},
    )
    return out


def _date_styles(zf: zipfile.ZipFile, path: str) -> set[int]:
    """Indexes of the cell formats (cellXfs) that show a date or time."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    if path not in zf.namelist():
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    state = {"in_xfs": False}
    numfmt, cellxfs, xf = f"{NS_MAIN}|numFmt", f"{NS_MAIN}|cellXfs", f"{NS_MAIN}|xf"

    def start(name, attrs):
        if name == numfmt:
            custom[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
        elif name == cellxfs:
            state["in_xfs"] = True
        elif name == xf and state["in_xfs"]:
            xfs.append(int(attrs.get("numFmtId", 0)))

    def end(name):
        if name == cellxfs:
            state["in_xfs"] = False

    _parse(zf, path, {"StartElementHandler": start, "EndElementHandler": end})
    dates = set()
    for i, fmt_id in enumerate(xfs):
        code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "")
        # 27-36 and 50-58: the built-in East Asian date formats (yyyy"年"m"月"d"日" …)
        if is_date_format(code) or 27 <= fmt_id <= 36 or 50 <= fmt_id <= 58:
            dates.add(i)
    return dates


def _filled(values: list) -> bool:
    return any(v is not None and (not isinstance(v, str) or v.strip()) for v in values)


class _Sheet:
    """expat handlers that turn a sheet's XML into finished rows (self.ready)."""

    def __init__(self, book: Book, limits: Limits) -> None:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        self.book, self.width, self.keep = book, limits.width, limits.width
        self.epoch = CALENDAR_MAC_1904 if book.epoch1904 else CALENDAR_WINDOWS_1900
        self.ready: deque[tuple[int, list]] = deque()
        self.values: list[Any] = []
        self.row, self.col = 0, -1
        self.kind, self.style, self.text, self.in_is, self.estimate = "n", 0, None, False, 0
        self.wide = False  # the current cell is beyond the width: any value refuses
        tags = ("row", "c", "v", "t", "is", "dimension")
        self.tag = {name: f"{NS_MAIN}|{name}" for name in tags}

    def start(self, name, attrs):
        tag = self.tag
        if name == tag["c"]:
            ref = attrs.get("r")
            match = _REF.match(ref) if ref else None
            self.col = _col_index(match.group(1)) if match else self.col + 1
            self.kind, self.style = attrs.get("t", "n"), int(attrs.get("s", 0))
            self.text, self.wide = None, self.col >= self.width
        elif name == tag["v"] or (name == tag["t"] and self.in_is):
            if self.col < self.keep and self.text is None:
                self.text = []
        elif name == tag["is"]:
            self.in_is = True
        elif name == tag["row"]:
            self.row = int(attrs["r"]) if "r" in attrs else self.row + 1
            if self.row > SHEET_ROWS:
                raise TableError(f"行号 {self.row} 超出 Excel 的最大行数。", self.row)
            self.values, self.col = [], -1
        elif name == tag["dimension"]:  # A1:L11003, which may be wrong: for progress only
            last = _REF.match(attrs.get("ref", "").rpartition(":")[2])
            self.estimate = int(last.group(2)) if last else 0

    def chars(self, data):
        if self.text is not None:
            self.text.append(data)
        elif self.wide and data.strip():
            raise too_wide(self.row, self.col, self.width)

    def end(self, name):
        tag = self.tag
        if name == tag["c"]:
            if self.text is not None:
                self._store("".join(self.text))
            self.text = None
        elif name == tag["is"]:
            self.in_is = False
        elif name == tag["row"] and _filled(self.values):
            self.ready.append((self.row, self.values))

    def _store(self, text: str) -> None:
        kind = self.kind
        value: Any
        if not text and kind not in ("inlineStr", "str"):
            return  # no value (a formula never calculated: <v/>)
        if kind == "s":
            value = self.book.shared[int(text)]
        elif kind in ("inlineStr", "str", "e"):
            value = text
        elif kind == "b":
            value = text.strip() in ("1", "true")
        elif kind == "d":
            value = datetime.fromisoformat(text)
        else:
            value = float(text) if any(ch in text for ch in ".eE") else int(text)
            if self.style in self.book.dates:
                from openpyxl.utils.datetime import from_excel

                value = from_excel(value, self.epoch)
        values, col = self.values, self.col
        if col >= len(values):
            values.extend([None] * (col + 1 - len(values)))
        values[col] = value


def rows(book: Book, path: str, limits: Limits, progress: Progress | None = None):
    """(row number, values) of every row with content of the sheet at `path`, read a
    chunk at a time; send() a column count to keep only that many from then on."""
    sheet = _Sheet(book, limits)
    parser = _expat(
        {
            "StartElementHandler": sheet.start,
            "EndElementHandler": sheet.end,
            "CharacterDataHandler": sheet.chars,
        }
    )
    done = 0
    with book.zf.open(path) as fh:
        while True:
            chunk = fh.read(CHUNK)
            parser.Parse(chunk, not chunk)
            while sheet.ready:
                number, values = sheet.ready.popleft()
                values = values[: sheet.keep]  # parsed before the header narrowed it
                if not _filled(values):
                    continue
                done += 1
                if progress and done % 2000 == 0:
                    progress("reading", number, max(sheet.estimate, number + 2000))
                got = yield number, values
                if got is not None:
                    sheet.keep = got
                    yield None  # what send() returns
            if not chunk:
                return
