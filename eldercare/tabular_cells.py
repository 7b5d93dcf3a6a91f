"""Cells of uploaded tables (eldercare.tabular's cell parsers): what every upload —
roster, comparison list, claim file — makes of a cell, so that each accepts the same.

A cell comes as the reader found it: text (CSV, a workbook's strings), an int or a
float (a workbook's numbers), a datetime (a workbook's date cells), a bool or None.

* ``text``: full-width letters, digits and punctuation made half-width (NFKC: ``１２３``
  is ``123``, ``（`` is ``(``, the ideographic space a space), trimmed; numbers without
  a spurious ``.0``, dates as ISO, None as ''.
* ``day``: 2026-06-03, 2026/6/3, 2026.6.3, 2026年6月3日, 20260603 and date cells.
* ``decimal``, ``amount`` (yuan: ``300``, ``300.00``, ``￥300``, ``1,200.50``, ``300元``),
  ``integer``: Decimal or int, never a float (a float cell is read through its repr,
  which is the number Excel shows).
* ``id_number``: through eldercare.idnumbers (full-width digits, a lower-case x, spaces,
  15-digit numbers; a number Excel turned into a float is refused as such).

An empty cell is None for the optional parsers (the caller decides whether the column
may be empty). A cell that is not what the parser reads raises ``CellError`` (or
``IdNumberError``; both are ValueErrors whose str() is the message in Chinese): the
caller adds the row and the column.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from . import idnumbers


class CellError(ValueError):
    """A cell that does not hold what its column wants; ``message`` says why (Chinese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def written(value) -> str:
    """A cell as the file shows it (not normalised): for header names quoted back."""
    if type(value) is str:  # the common case first: this runs for every cell
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def text(value) -> str:
    """A cell as text, full-width characters made half-width (NFKC) and trimmed."""
    out = written(value)
    return out if out.isascii() else unicodedata.normalize("NFKC", out).strip()


def compact(value) -> str:
    """A cell as text without any whitespace (codes, numbers, dates, words to match)."""
    return "".join(text(value).split())


_DAY = (
    re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", re.ASCII),
    re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII),
)
DAY_FORMATS = "2026-06-03、2026/6/3、2026年6月3日 或 20260603"


def day(value) -> date | None:
    """A date cell, or a date written as 2026-06-03, 2026/6/3, 2026.6.3, 2026年6月3日 or
    20260603 (full-width digits too); None when empty. CellError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = compact(value)
    if not raw:
        return None
    match = _DAY[0].fullmatch(raw) or _DAY[1].fullmatch(raw)
    if match is None:
        raise CellError(f"日期“{raw}”无法识别，请写成 {DAY_FORMATS} 这样的日期。")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise CellError(f"没有“{raw}”这一天。") from None


_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+", re.ASCII)


def decimal(value, *, places: int | None = None) -> Decimal | None:
    """A number cell or a number written out (``1200``, ``1,200.5``, full-width digits);
    with `places`, at most that many decimals and the value given with exactly that many.
    None when empty; CellError otherwise. Never a float."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"“{written(value)}”不是数字。")
    if isinstance(value, int | Decimal):
        found = Decimal(value)
    elif isinstance(value, float):
        found = Decimal(repr(value))  # the shortest form that reads back: what Excel shows
    else:
        raw = compact(value)
        if not raw:
            return None
        if not _NUMBER.fullmatch(raw):
            raise CellError(f"“{raw}”不是数字。")
        found = Decimal(raw.replace(",", ""))
    return _places(found, places)


def _places(found: Decimal, places: int | None) -> Decimal:
    if not found.is_finite():
        raise CellError(f"“{found}”不是数字。")
    if places is None:
        return found
    try:
        exact = found.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # more digits than a Decimal holds: no real quantity
        raise CellError(f"数字“{found}”过大。") from None
    if exact != found:
        raise CellError(f"“{found}”的小数超过 {places} 位。")
    return exact


_CURRENCY = ("¥", "元", "RMB", "CNY")  # ￥ is ¥ once made half-width


def amount(value, *, places: int | None = 2) -> Decimal | None:
    """Yuan: a number cell or ``300``, ``300.00``, ``￥300``, ``¥1,200.50``, ``300元``
    (full-width digits too), with at most `places` decimals (None: any, for the caller
    to round). None when empty; CellError otherwise."""
    if isinstance(value, str):
        raw = compact(value).upper()
        for mark in _CURRENCY:
            raw = raw.replace(mark, "")
        if not raw and compact(value):
            raise CellError(f"“{compact(value)}”不是金额。")
        value = raw
    return decimal(value, places=places)


def integer(value) -> int | None:
    """A whole number (``12``, ``12.0``, ``１２``); None when empty; CellError otherwise."""
    found = decimal(value)
    if found is None:
        return None
    if found != found.to_integral_value():
        raise CellError(f"“{text(value)}”不是整数。")
    return int(found)


def id_number(value) -> idnumbers.IdInfo:
    """An ID number cell, read by eldercare.idnumbers (full-width digits, a lower-case
    x, spaces and a leading apostrophe forgiven; 15-digit numbers made 18): the number,
    birth date and sex. IdNumberError (a ValueError) says what is wrong, also for a
    number that Excel stored as a float and so cut short."""
    return idnumbers.parse(value)
