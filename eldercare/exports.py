"""Every list exports what it shows as .xlsx or .csv (`?format=`), streamed, and safe
against formula injection: a text cell that a spreadsheet would run is prefixed with '."""

from __future__ import annotations

import csv
import enum
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, request, stream_with_context
from openpyxl import Workbook

from .timeutil import to_local

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(DANGEROUS) else value


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: numbers stay numbers, everything else is safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, datetime):
        return to_local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dict | list):
        import json

        value = json.dumps(value, ensure_ascii=False, default=str)
    return safe_text(str(value))


def _pages(stmt, key, size: int, fetch):
    """Keyset paging: `stmt` by `key`, `size` rows at a time, each page read by `fetch`;
    no server-side cursor that would have to outlive the request's transaction."""
    last = None
    while True:
        q = stmt.order_by(None).order_by(key).limit(size)
        if last is not None:
            q = q.where(key > last)
        batch = fetch(q)
        if not batch:
            return
        last = getattr(batch[-1], key.key)
        yield batch


def iter_rows(stmt, key, size: int = 1000):
    """Rows of a SELECT of ORM entities, 1,000 at a time by their key, so an export
    streams in flat memory."""
    from .extensions import db

    for batch in _pages(stmt, key, size, lambda q: list(db.session.scalars(q))):
        for row in batch:
            yield row
            db.session.expunge(row)  # what was written need not stay in memory


def iter_batches(stmt, key, size: int = 1000):
    """Lists of rows of a SELECT of plain columns (not ORM entities), `size` at a time by
    `key`: for exports of 100,000 rows and more, where building an object per row and per
    related row costs more than writing the file."""
    from .extensions import db

    yield from _pages(stmt, key, size, lambda q: db.session.execute(q).all())


def wants_export() -> str | None:
    fmt = request.args.get("format")
    return fmt if fmt in ("csv", "xlsx") else None


def _csv_stream(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # Excel in China opens UTF-8 CSV correctly only with a BOM
    writer.writerow([safe_text(h) for h in headers])
    for i, row in enumerate(rows):
        writer.writerow([cell(v) for v in row])
        if i % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _xlsx_file(headers: Sequence[str], rows: Iterable[Sequence[Any]]):
    """write_only keeps memory flat; the file is spooled to disk past 8 MiB."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append([safe_text(h) for h in headers])
    for row in rows:
        ws.append([cell(v) for v in row])
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 — closed by the response
    wb.save(out)
    out.seek(0)
    return out


def export_response(
    name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str | None = None
) -> Response:
    fmt = fmt or wants_export() or "csv"
    filename = f"{name}.{fmt}"
    disposition = f"attachment; filename={filename}"
    if fmt == "csv":
        return Response(
            stream_with_context(_csv_stream(headers, rows)),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    fh = _xlsx_file(headers, rows)

    def chunks():
        with fh:
            while block := fh.read(64 * 1024):
                yield block

    return Response(
        chunks(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": disposition},
    )
