"""The bounded reader of uploaded tables (eldercare/tabular.py): it stops at the line
limit and at the last column its caller knows, and refuses a file too large to be a
table quickly, naming the problem."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import pytest

from eldercare import tabular

CLAIM = ["line_no", "visit_id", "id_number", "service_date", "service_code", "quantity", "amount"]

_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.'
    'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType='
    '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
    'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
    '//schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def _cell(ref: str, value) -> str:
    if value is None:
        return f'<c r="{ref}" s="0"/>'  # formatting, no value
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def workbook(rows, dimension: str = "A1") -> bytes:
    """An .xlsx written part by part, as the hostile upload was: rows are
    (row number, [(column letters, value)])."""
    body = "".join(
        f'<row r="{n}">' + "".join(_cell(f"{c}{n}", v) for c, v in cells) + "</row>"
        for n, cells in rows
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://'
        'schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (
            ("[Content_Types].xml", _CT),
            ("_rels/.rels", _RELS),
            ("xl/workbook.xml", _WB),
            ("xl/_rels/workbook.xml.rels", _WB_RELS),
            ("xl/worksheets/sheet1.xml", sheet),
        ):
            z.writestr(name, text)
    return out.getvalue()


def xfd_workbook(header: list[str], rows: int = 60_000, value=1, column: str = "XFD") -> bytes:
    """The upload that took a server from 133 MiB to over 7 GiB: a header, then `rows`
    rows each holding one cell in column XFD (the last of 16,384)."""
    cols = [tabular.letters(i) for i in range(len(header))]
    return workbook(
        [(1, list(zip(cols, header, strict=True)))]
        + [(n, [(column, value)]) for n in range(2, rows + 2)],
        f"A1:{column}{rows + 1}",
    )


def empty_lines_csv(header: list[str], size: int = 16 * 1024 * 1024 - 4096) -> bytes:
    """A CSV of a header and then nothing but line ends, just under the 16 MiB limit."""
    head = (",".join(header) + "\n").encode()
    return head + b"\n" * (size - len(head))


def claim_header(rows):
    names = [str(v or "").strip().lower() for v in rows[-1][1]]
    if not all(c in names for c in CLAIM):
        return 0
    return max(names.index(c) for c in CLAIM) + 1


def read(content: bytes, max_rows: int = 1000, **kw) -> tabular.Table:
    return tabular.read_table(content, claim_header, tabular.Limits(max_rows=max_rows), **kw)


def timed(fn):
    """(result or raised TableError, seconds)."""
    started = time.perf_counter()
    try:
        result = fn()
    except tabular.TableError as exc:
        result = exc
    return result, time.perf_counter() - started


def measured(fn):
    """(result or raised TableError, seconds, peak MiB allocated by Python meanwhile;
    tracemalloc slows Python down several times: the seconds are only an upper bound).
    The server's own memory is measured in test_upload_limits.py."""
    tracemalloc.start()
    try:
        result, seconds = timed(fn)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def test_the_xfd_workbook_is_refused_at_its_first_wide_cell():
    content = xfd_workbook(CLAIM)
    assert 250 * 1024 < len(content) < 350 * 1024  # the 295 KiB of the incident
    refused, seconds, peak = measured(lambda: read(content, max_rows=200_001))
    assert isinstance(refused, tabular.TableError)
    assert (refused.row, refused.column) == (2, "XFD")
    assert "表格过宽" in refused.message and "XFD" in refused.message
    assert seconds < 5 and peak < 20, (seconds, peak)


def test_cells_right_of_the_known_columns_are_never_materialised():
    """Cells between the caller's last column and the width limit are passed over: 60,000
    rows with a value in column IV (the 256th, still allowed) read as blank rows."""
    content = xfd_workbook(CLAIM, value="x", column="IV")
    table, seconds = timed(lambda: read(content, max_rows=200_001))
    assert isinstance(table, tabular.Table), table
    assert table.header == 0 and len(table.rows) == 1  # the cells beyond G are not kept
    assert seconds < 10, seconds


def test_the_width_limit_both_sides():
    header = [(tabular.letters(i), CLAIM[i]) for i in range(7)]
    inside = workbook([(1, header), (2, [("A", 1), ("IV", "x")])])
    outside = workbook([(1, header), (2, [("A", 1), ("IW", "x")])])
    assert [n for n, _ in read(inside).rows] == [1, 2]
    with pytest.raises(tabular.TableError, match="IW") as refused:
        read(outside)
    assert refused.value.row == 2
    styled = workbook([(1, header), (2, [("A", 1), ("IW", None)])])
    assert [n for n, _ in read(styled).rows] == [1, 2]  # formatting without a value is no cell
    wide_line = ("," * 256 + "\n").encode()
    csv_ok = (",".join(CLAIM) + "\n" + "," * 255 + "x\n").encode()
    assert read(csv_ok).header == 0  # column IV is allowed (and not kept)
    with pytest.raises(tabular.TableError, match="表格过宽"):
        read((",".join(CLAIM) + "\n").encode() + wide_line)


def test_the_empty_lines_csv_stops_at_a_sheets_row_count_without_reading_it_whole():
    content = empty_lines_csv(CLAIM)
    refused, seconds = timed(lambda: read(content, max_rows=200_001))
    assert isinstance(refused, tabular.TableError), refused
    assert "行数过多" in refused.message and refused.row == tabular.SHEET_ROWS + 1
    assert seconds < 10, seconds


def test_the_row_limit_both_sides():
    lines = "\n".join(f"{i},,510704194503121234,2026-11-01,care,1,40.00" for i in range(1, 11))
    content = (",".join(CLAIM) + "\n" + lines + "\n").encode()
    assert len(read(content, max_rows=11).rows) == 11  # the header and ten lines
    with pytest.raises(tabular.TableError, match="超过 10 行") as refused:
        read(content, max_rows=10)
    assert refused.value.row == 11
    rows = [(1, [(tabular.letters(i), c) for i, c in enumerate(CLAIM)])]
    rows += [(n, [("A", n)]) for n in range(2, 12)]
    assert len(read(workbook(rows), max_rows=11).rows) == 11
    with pytest.raises(tabular.TableError, match="超过 10 行"):
        read(workbook(rows), max_rows=10)


def test_a_line_too_long_is_refused():
    content = (",".join(CLAIM) + "\n").encode() + b"x" * (tabular.MAX_LINE_CHARS + 10) + b"\n"
    with pytest.raises(tabular.TableError, match="第 2 行过长"):
        read(content)


def test_encodings_and_delimiters():
    text = "姓名;身份证号码\n张三;510704194503121234\n"

    def header(rows):
        return 2 if "姓名" in rows[-1][1] else None

    limits = tabular.Limits(max_rows=10)
    for encoding, label in (
        ("utf-8", "csv/utf-8"),
        ("utf-8-sig", "csv/utf-8"),
        ("gbk", "csv/gbk"),
        ("utf-16", "csv/utf-16"),
    ):
        table = tabular.read_table(text.encode(encoding), header, limits, delimiters=(",", ";"))
        assert (table.file_type, table.header) == (label, 0)
        assert table.rows[1] == (2, ["张三", "510704194503121234"])
    with pytest.raises(tabular.TableError, match="xls"):
        tabular.read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, header, limits)
    assert tabular.read_table(b"a,b\n", header, limits).header is None


def test_a_header_not_found_reads_no_further_than_the_search():
    content = ("x\n" * 100).encode()
    table = tabular.read_table(
        content, lambda rows: None, tabular.Limits(max_rows=10, header_rows=30)
    )
    assert table.header is None and len(table.rows) == 30


def test_openpyxl_reads_what_the_stream_reader_does_not_and_stays_bounded(monkeypatch):
    from eldercare import tabular_xlsx

    def refuse(*_a, **_k):
        raise KeyError("unexpected part")

    monkeypatch.setattr(tabular_xlsx, "open_book", refuse)
    header = [(tabular.letters(i), c) for i, c in enumerate(CLAIM)]
    table = read(workbook([(1, header), (2, [("A", 1), ("XFD", "x")])], "A1:XFD2"))
    assert table.header == 0 and table.rows[1] == (2, [1, None, None, None, None, None, None])


def test_letters():
    assert [tabular.letters(i) for i in (0, 25, 26, 255, 16383)] == ["A", "Z", "AA", "IV", "XFD"]
