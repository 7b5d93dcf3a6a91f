"""Resident ID numbers (居民身份证号码, GB 11643-1999): the one place that parses,
validates, normalises and masks them.

Pure module: no Flask, no database. Everything that accepts an ID number (forms, the
roster import, the API) goes through :func:`normalize` or :func:`parse`; everything
that shows one goes through :func:`mask` unless the viewer may see it in full.

Structure: 6-digit division code (GB/T 2260) + birth date YYYYMMDD + 3-digit sequence
(odd = male, even = female) + check character (ISO 7064 MOD 11-2, ``0-9`` or ``X``).

What :func:`normalize` forgives, because rosters from the field carry it:

* whitespace anywhere (also inside the number, full-width ``U+3000``, no-break spaces,
  zero-width characters), and a leading apostrophe that Excel users type to force text;
* full-width digits and letters (NFKC), a lower-case ``x``;
* first-generation 15-digit numbers (YYMMDD, no check character): converted to 18
  digits by inserting ``19`` before the year and computing the check character.

What it refuses, with an :class:`IdNumberError` whose ``code`` says why:

``empty``         nothing there;
``excel_number``  the number went through a spreadsheet cell formatted as a number
                  (``5.10704195710189E+17``, a float, an int that lost its digits):
                  Excel keeps 15 significant digits, so the end of the number is gone
                  for good and nobody can recover it from the file;
``characters``    anything other than digits and a final ``X``;
``length``        not 15 or 18 characters;
``date``          no such date, in the future, or before 1880;
``check``         the check character does not match (a digit was copied wrongly);
``division``      the first six digits were never a division code.

The division code is checked against every code that *ever* existed in the table
shipped with python-stdnum (``stdnum/cn/loc.dat``), not against the codes in force in
the birth year as ``stdnum.cn.ric.validate`` does: numbers are assigned where a person
is registered, which is often long after birth, so 510704194503120218 (游仙区 only got
code 510704 in 1992) is a perfectly normal number for a Youxian elder.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

from stdnum.cn import ric

__all__ = [
    "MESSAGES",
    "MIN_BIRTH_DATE",
    "IdInfo",
    "IdNumberError",
    "age_on",
    "check_character",
    "division_exists",
    "is_valid",
    "make_number",
    "mask",
    "normalize",
    "parse",
]

MIN_BIRTH_DATE = date(1880, 1, 1)

MESSAGES: dict[str, str] = {
    "empty": "身份证号码为空。",
    "excel_number": (
        "身份证号码被Excel当成了数字（显示为 5.10704195710189E+17 之类），"
        "Excel只保留15位有效数字，号码的最后几位已被抹掉，无法从文件中恢复。"
        "请把这一列的单元格格式设为“文本”，再按身份证原件重新录入号码。"
    ),
    "characters": "身份证号码只能由数字组成，最后一位可以是X；号码中有其他字符。",
    "length": "身份证号码应为18位（一代证为15位），位数不对。",
    "date": "身份证号码中的出生日期不存在或不合理（不能晚于今天，也不能早于1880年）。",
    "check": "身份证号码的校验位不符，号码中有数字抄错了；请对照身份证原件核对。",
    "division": "身份证号码的前6位不是任何时期存在过的行政区划代码。",
}

_CHECK_000_HINT = (
    "号码以000结尾，也可能是Excel把号码当成数字后抹掉了最后几位；"
    "若是这样，请把该列设为“文本”格式后按原件重新录入。"
)

# Characters that str.isspace() does not know but that paste in from web pages and Word.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# 5.10704195710189E+17, 5.10704E17, 510704195710189000.0, 5,10704E+17 (decimal comma)
_EXCEL_NUMBER_RE = re.compile(r"^[+-]?\d+(?:[.,]\d*)?(?:E[+-]?\d+)?$")
_APOSTROPHES = "'‘’`"


class IdNumberError(ValueError):
    """An ID number that cannot be accepted. ``code`` is machine-readable (see the module
    docstring), ``message`` is the Chinese text to show; ``str(e)`` is the message."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown IdNumberError code: {code!r}")
        self.code = code
        self.message = message if message is not None else MESSAGES[code]
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"IdNumberError({self.code!r})"


@dataclass(frozen=True)
class IdInfo:
    number: str  # normalised, 18 characters
    birth_date: date
    sex: str  # "M" or "F"
    division_code: str  # first six digits

    @property
    def masked(self) -> str:
        return mask(self.number)


# --------------------------------------------------------------------------- divisions


@lru_cache(maxsize=1)
def _division_codes() -> frozenset[str]:
    """Every 6-digit code in stdnum's table, whatever its years of validity.

    loc.dat is a numdb file: a 2-digit province line, then indented 4-digit lines whose
    prefix is the province, e.g. ``51 province=...`` / ``  0704 county="[1992-]游仙区"``.
    Walk the indentation generally rather than assume two levels.
    """
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    codes: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, accumulated prefix)
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        field = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        for part in field.split(","):
            low, _, high = part.partition("-")
            if high and low.isdigit() and high.isdigit() and len(low) == len(high):
                prefixes = [str(n).zfill(len(low)) for n in range(int(low), int(high) + 1)]
            else:
                prefixes = [low]
            for prefix in prefixes:
                full = parent + prefix
                if len(full) == 6 and full.isdigit():
                    codes.add(full)
        stack.append((indent, parent + field.split(",")[0].partition("-")[0]))
    return frozenset(codes)


def division_exists(code: str) -> bool:
    """True if ``code`` (6 digits) was a division code at any time."""
    return code in _division_codes()


# --------------------------------------------------------------------------- helpers


def _today() -> date:
    """Today's date; a function so that tests can move it."""
    return date.today()


def check_character(first17: str) -> str:
    """The check character ('0'-'9' or 'X') for the first 17 digits of a number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("check_character needs exactly 17 digits")
    return ric.calc_check_digit(first17 + "0")


def make_number(division_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid 18-character number (for demo data and tests)."""
    if not (0 <= sequence <= 999):
        raise ValueError("sequence must be 0..999")
    first17 = f"{division_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    text = "".join(ch for ch in text if not ch.isspace())
    text = text.lstrip(_APOSTROPHES)
    return text.upper()


def _excel_error() -> IdNumberError:
    return IdNumberError("excel_number")


def _from_int(raw: int) -> str:
    if raw < 0:
        raise IdNumberError("characters")
    digits = str(raw)
    if len(digits) not in (15, 18):
        raise IdNumberError("length")
    return digits


def _int_lost_digits(raw: int) -> bool:
    """An int that went through a float: at most 15 significant digits (what Excel
    keeps), or exactly representable as a double (what int(float) leaves)."""
    return len(str(raw).rstrip("0")) <= 15 or int(float(raw)) == raw


# --------------------------------------------------------------------------- public API


def normalize(raw: object) -> str:
    """The normalised 18-character number, or :class:`IdNumberError`.

    Accepts a str, or an int of 15 or 18 digits. A float is always refused as
    ``excel_number``: by the time an ID number is a float its last digits are gone.
    """
    if raw is None:
        raise IdNumberError("empty")
    if isinstance(raw, bool):
        raise IdNumberError("characters")
    if isinstance(raw, float):
        raise _excel_error()
    from_int = isinstance(raw, int)
    if isinstance(raw, int):
        text = _from_int(raw)
    elif isinstance(raw, str):
        text = _clean(raw)
    else:
        raise IdNumberError("characters")

    if not text:
        raise IdNumberError("empty")
    if _EXCEL_NUMBER_RE.match(text) and any(ch in text for ch in ".,E"):
        raise _excel_error()
    if not text.isascii() or not (text[:-1].isdigit() and (text[-1].isdigit() or text[-1] == "X")):
        raise IdNumberError("characters")
    if len(text) == 15:
        if not text.isdigit():
            raise IdNumberError("characters")
        first17 = text[:6] + "19" + text[6:]
        text = first17 + check_character(first17)
    elif len(text) != 18:
        raise IdNumberError("length")

    birth = _birth_date(text)
    if birth is None or birth > _today() or birth < MIN_BIRTH_DATE:
        raise IdNumberError("date")
    if text[-1] != check_character(text[:17]):
        if from_int and _int_lost_digits(raw):  # type: ignore[arg-type]
            raise _excel_error()
        if text.endswith("000"):
            raise IdNumberError("check", MESSAGES["check"] + _CHECK_000_HINT)
        raise IdNumberError("check")
    if not division_exists(text[:6]):
        raise IdNumberError("division")
    return text


def _birth_date(number: str) -> date | None:
    try:
        return ric.get_birth_date(number)
    except ValueError:  # stdnum's InvalidComponent is a ValueError
        return None


def parse(raw: object) -> IdInfo:
    """Normalise and split a number; raises :class:`IdNumberError`."""
    number = normalize(raw)
    birth = _birth_date(number)
    if birth is None:  # normalize checked it; an assert would vanish under python -O
        raise IdNumberError("date")
    return IdInfo(
        number=number,
        birth_date=birth,
        sex="M" if int(number[16]) % 2 else "F",
        division_code=number[:6],
    )


def is_valid(raw: object) -> bool:
    try:
        normalize(raw)
    except IdNumberError:
        return False
    return True


def mask(number: str | None) -> str:
    """``510704********123X``: first 6, eight stars, last 4 of an 18-character number.

    Anything that is not 18 characters after cleaning comes back as stars only (as many
    as it has characters), so no part of a malformed number is shown; None gives "".
    """
    if number is None:
        return ""
    text = _clean(str(number))
    if len(text) != 18:
        return "*" * len(text)
    return text[:6] + "*" * 8 + text[-4:]


def age_on(birth_date: date, on_date: date) -> int:
    """Age in completed years on ``on_date`` (someone born on 29 February turns a year
    older on 1 March in common years)."""
    if on_date < birth_date:
        raise ValueError("on_date is before birth_date")
    years = on_date.year - birth_date.year
    if (on_date.month, on_date.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
