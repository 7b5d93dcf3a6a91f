"""A roster against the registry: what the registry already holds decides whether a
row creates or updates a person, and what may not be done (特困 support for someone
recorded dead, a support that would begin before the current one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..extensions import db
from ..models import Person, PersonStatus, WubaoSupport

if TYPE_CHECKING:
    from .roster import ImportReport, RowData

CHUNK = 500  # ID numbers per IN (...) look-up
Column = Callable[[str], "str | None"]  # field -> its header as written, None if absent


def existing(numbers: Iterable[str]) -> dict[str, dict]:
    """What the registry holds for these numbers: two queries per chunk of 500."""
    numbers = list(dict.fromkeys(numbers))
    out: dict[str, dict] = {}
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        rows = db.session.execute(
            sa.select(
                Person.id,
                Person.id_number,
                Person.name,
                Person.status,
                Person.death_date,
            ).where(Person.id_number_in(chunk))
        )
        by_id = {}
        for r in rows:
            out[r.id_number] = by_id[r.id] = {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "death_date": r.death_date,
                "support": None,
            }
        if by_id:
            for s in db.session.execute(
                sa.select(
                    WubaoSupport.person_id,
                    WubaoSupport.category,
                    WubaoSupport.support,
                    WubaoSupport.start_date,
                ).where(WubaoSupport.person_id.in_(list(by_id)), WubaoSupport.end_date.is_(None))
            ):
                by_id[s.person_id]["support"] = (s.category.value, s.support.value, s.start_date)
    return out


def against_registry(
    candidates: list[RowData], report: ImportReport, column: Column
) -> list[RowData]:
    """The rows that may be stored given what the registry already holds, which also
    decides create or update (the report's counts). `column` names a field's column."""
    have = existing(r.number for r in candidates)
    rows = [
        r
        for r in candidates
        if r.number not in have or _may_update(r, have[r.number], report, column)
    ]
    report.created = sum(1 for r in rows if r.number not in have)
    report.updated = len(rows) - report.created
    return rows


def _may_update(r: RowData, have: dict, report: ImportReport, column: Column) -> bool:
    """Whether a registered person may be updated as the row says (else an error)."""
    bad = False
    if have["status"] == PersonStatus.DECEASED:
        if r.category:
            bad = True
            report.error(
                r.row,
                column("category"),
                f"此人已于 {have['death_date']} 登记去世，不能登记特困供养。",
                r.seq,
            )
        else:
            report.warn(r.row, None, "此人已登记去世；只更新了基本信息。", r.seq)
    elif have["status"] == PersonStatus.MOVED and r.category:
        report.warn(
            r.row, column("category"), "此人已登记迁出本区，仍按花名册登记特困供养。", r.seq
        )
    current = have["support"]
    changes_support = current and (current[0], current[1]) != (r.category, r.support)
    if not bad and r.category and changes_support and r.since and r.since <= current[2]:
        bad = True
        report.error(
            r.row,
            column("since") or column("support"),
            f"此人现有的特困供养记录自 {current[2]} 起；新记录的开始日期（{r.since}）须晚于它。",
            r.seq,
        )
    if have["name"] != r.name:
        report.warn(
            r.row,
            column("name"),
            f"登记中此身份证号码的姓名为“{have['name']}”，将改为“{r.name}”。",
            r.seq,
        )
    return not bad
