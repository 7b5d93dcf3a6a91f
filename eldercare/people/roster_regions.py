"""Townships and villages as a roster names them (所属乡镇（街道）, 村（社区）): matched
to the registry's regions by name, with or without 镇/乡/街道 and 村民委员会/居委会, and
villages found under the township they belonged to before a merger."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from .. import tabular
from ..extensions import db
from ..models import Region


def word(value) -> str:
    """A cell compared with a list of words: half-width, no whitespace, upper case."""
    return tabular.compact(value).upper()


class Regions:
    """Townships and villages by name, loaded once for a whole roster."""

    def __init__(self, today: date):
        regions = list(
            db.session.execute(
                sa.select(
                    Region.code,
                    Region.name,
                    Region.level,
                    Region.kind,
                    Region.parent_code,
                    Region.valid_from,
                    Region.valid_to,
                    Region.successor_code,
                )
            )
        )
        self.today = today
        self.townships: dict[str, list] = {}
        self.villages_by_parent: dict[str, dict[str, str]] = {}
        self.villages_by_name: dict[str, list[tuple[str, str]]] = {}
        self.successors: dict[str, str | None] = {}
        for r in regions:
            if r.level == "township":
                self.successors[r.code] = r.successor_code
                for key in {word(r.name), word(_stem(r.name))}:
                    self.townships.setdefault(key, []).append(r)
        for r in regions:
            if r.level == "village":
                for key in {word(r.name), word(_village_stem(r.name))}:
                    self.villages_by_parent.setdefault(r.parent_code, {}).setdefault(key, r.code)
                    self.villages_by_name.setdefault(key, []).append((r.code, r.parent_code))
        for units in self.townships.values():  # in force today first
            units.sort(key=lambda r: not _valid_on(r, today))

    def township(self, name: str) -> str | None:
        units = self.townships.get(word(name)) or self.townships.get(word(_stem(name)))
        return units[0].code if units else None

    def village(self, name: str, township: str | None) -> tuple[str | None, str | None, str]:
        """(village code, its township code, problem: "", "not_under", "ambiguous" or
        "unknown")."""
        keys = [word(name), word(_village_stem(name))]
        if township:
            # the township itself, and units merged into it (villages keep their old parent)
            parents = [township] + [c for c, s in self.successors.items() if s == township]
            for parent in parents:
                found = self.villages_by_parent.get(parent, {})
                for key in keys:
                    if key in found:
                        return found[key], parent, ""
            return None, None, "not_under"
        for key in keys:
            matches = self.villages_by_name.get(key) or []
            if len(matches) == 1:
                return matches[0][0], matches[0][1], ""
            if len(matches) > 1:
                return None, None, "ambiguous"
        return None, None, "unknown"


def _valid_on(r, day: date) -> bool:
    return (r.valid_from is None or r.valid_from <= day) and (
        r.valid_to is None or day <= r.valid_to
    )


def _stem(name: str) -> str:
    for suffix in ("街道办事处", "街道办", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _village_stem(name: str) -> str:
    for suffix, repl in (
        ("村民委员会", "村"),
        ("居民委员会", ""),
        ("村委会", "村"),
        ("居委会", ""),
        ("社区居委", "社区"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + repl
    return name
