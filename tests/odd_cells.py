"""The odd ways a cell is written that every upload (roster, comparison list, claim
file) must read alike, because eldercare.tabular's cell parsers read them all: the
tests of each reader feed it these."""

from __future__ import annotations

from datetime import date


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (１２３, Ｘ, （)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def odd_dates(day: date) -> list[str]:
    """One day written as field offices write it."""
    y, m, d = day.year, day.month, day.day
    return [
        f"{y}年{m}月{d}日",
        f"{y}{m:02d}{d:02d}",
        f"{y}/{m}/{d}",
        f"{y}.{m}.{d}",
        full_width(day.isoformat()),
        f"{full_width(str(y))}年{m}月{d}日",
    ]


def odd_id_number(number: str) -> str:
    """An ID number in full-width digits with an ideographic space and a lower-case x."""
    odd = full_width(number.replace("X", "x"))
    return odd[:6] + "\u3000" + odd[6:]
