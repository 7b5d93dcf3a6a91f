"""New entrants (应保尽保): lists from other departments that find people who qualify
and are not supported — disability certificates (残联), 低保 recipients aged 60 and over
(the 低保 register), people turning 60 or 80 in the month (公安户籍). Each matched,
unsupported person becomes a `propose_application` proposal; accepting it records the
list's category on the person and starts an application through the `dynamic.entrants`
hook (the intake feature fills it); dismissing it takes a reason, as for exits.

Who is already supported is asked of the core (an open 特困 support) and of the
features through the `dynamic.supported` hook (an open application, a home-care
enrolment). Functions flush, never commit.
"""

from __future__ import annotations

import calendar
import statistics
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import Category, Person, PersonCategory
from eldercare.registry import registry
from eldercare.templating import LABELS
from eldercare.timeutil import local_midnight_utc, to_local

from . import ENTRANTS, SUPPORTED
from .models import (
    ENTRY_KINDS,
    Comparison,
    ComparisonKind,
    Proposal,
    ProposalKind,
    ProposalStatus,
    RowResult,
)

SOURCE_LABELS = {"disability": "残疾人证名单", "dibao": "低保名单", "age": "年满60、80周岁名单"}
FOUND = {
    "disability": "持残疾人证，未享受特困供养或居家养老服务",
    "dibao": "60周岁以上低保对象，未享受特困供养或居家养老服务",
    "age": "当月年满{age}周岁，未享受特困供养或居家养老服务",
}


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def category_of(kind: str, person: Person, on: date) -> Category | None:
    """The category a list bears witness to: 低保, 残疾人, or 80+ for the age list."""
    if kind == "dibao":
        return Category.DIBAO
    if kind == "disability":
        return Category.DISABLED
    if kind == "age" and person.age_on(_month_end(on)) >= 80:
        return Category.AGE80
    return None


def supported(person: Person, on: date) -> list[str]:
    """How the person is supported or applying already: the core's 特困 support and what
    every feature says through the `dynamic.supported` hook."""
    out = ["已是特困供养人员"] if person.current_support is not None else []
    for fn in registry().hook(SUPPORTED):
        out.extend(fn(person, on))
    return out


def judge(kind: ComparisonKind, day: date, person: Person) -> tuple[RowResult, str, bool]:
    """(result, reason, proposes) for a matched row of an entrants' list, after the
    checks every list shares (name, status, repeats, pending proposals)."""
    if kind == ComparisonKind.DIBAO and person.age_on(day) < 60:
        return RowResult.MATCHED, "未满60周岁（低保名单只比对60周岁以上）", False
    age = person.age_on(_month_end(day))
    if kind == ComparisonKind.AGE and not (
        age in (60, 80) and person.birth_date.month == day.month
    ):
        return RowResult.AMBIGUOUS, "按身份证号，该月不是年满60或80周岁", False
    already = supported(person, day)
    if already:
        return RowResult.MATCHED, "；".join(already)[:200], False
    return RowResult.MATCHED, FOUND[kind.value].format(age=age), True


def source_kind(proposal: Proposal) -> str:
    """The kind the effects are described by: the list's kind for a proposed application."""
    if proposal.kind == ProposalKind.PROPOSE_APPLICATION:
        return proposal.comparison.kind.value
    return proposal.kind.value


def describe_category(person: Person, kind: str, on: date) -> list[str]:
    """The core's part of accepting an entrant: the list's category on the person."""
    if kind not in {k.value for k in ENTRY_KINDS}:
        return []
    cat = category_of(kind, person, on)
    if cat is None or cat in person.category_set:
        return []
    return [f"人员类别增加“{LABELS['category'][cat.value]}”"]


def accept(proposal: Proposal, user_id: int | None) -> None:
    """Record the list's category and start what the features start (an application).
    Raises Conflict when no feature takes applications or one refuses (already applying)."""
    fns = registry().hook(ENTRANTS)
    if not fns:
        raise Conflict("未启用受理申请功能，无法采纳", code="no_intake")
    person, kind, on = proposal.person, proposal.comparison.kind.value, proposal.date
    cat = category_of(kind, person, on)
    if cat is not None and cat not in person.category_set:
        person.categories.append(PersonCategory(category=cat))
        db.session.flush()
    for fn in fns:
        fn(person, kind, on, proposal_id=proposal.id, user_id=user_id)


def figures(since: date, until: date) -> dict:
    """New entrants found by the lists uploaded in [since, until], per source: found
    (proposals), accepted, dismissed, pending, and days from the list to the decision."""
    lo, hi = local_midnight_utc(since), local_midnight_utc(until + timedelta(days=1))
    rows = db.session.execute(
        sa.select(Comparison.kind, Proposal.status, Comparison.uploaded_at, Proposal.decided_at)
        .join(Comparison, Comparison.id == Proposal.comparison_id)
        .where(
            Proposal.kind == ProposalKind.PROPOSE_APPLICATION,
            Comparison.uploaded_at >= lo,
            Comparison.uploaded_at < hi,
        )
    ).all()
    out: list[dict[str, Any]] = []
    for kind in ENTRY_KINDS:
        mine = [r for r in rows if r[0] == kind]
        days = [
            max(0, (to_local(d).date() - to_local(u).date()).days)
            for _k, _s, u, d in mine
            if d is not None
        ]
        count = {s: sum(1 for r in mine if r[1] == s) for s in ProposalStatus}
        out.append(
            {
                "source": kind.value,
                "label": SOURCE_LABELS[kind.value],
                "found": len(mine),
                "accepted": count[ProposalStatus.ACCEPTED],
                "dismissed": count[ProposalStatus.REJECTED],
                "pending": count[ProposalStatus.PENDING],
                "avg_days_to_decision": round(statistics.fmean(days), 1) if days else None,
            }
        )
    total = {k: sum(s[k] for s in out) for k in ("found", "accepted", "dismissed", "pending")}
    return {"by_source": out, **total}
