"""Comparison lists from other departments (信息比对) and the proposals they give.

A list is matched to the registry by normalised ID number; every row is matched,
unmatched (a valid number nobody here has) or ambiguous (found, but the name differs,
the person is already deceased or moved, or the row repeats one above). Matched rows
become proposals that the bureau accepts or rejects; accepting applies everything in
the caller's one transaction. Functions flush, never commit.
"""

from __future__ import annotations

import os
import unicodedata
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare import audit, crypto
from eldercare.database import rowcount, to_money, utcnow
from eldercare.errors import Conflict, Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus
from eldercare.people import services as people
from eldercare.registry import registry
from eldercare.templating import money
from eldercare.timeutil import Month

from . import EFFECTS, entrants
from .models import (
    ENTRY_KINDS,
    Comparison,
    ComparisonKind,
    ComparisonRow,
    Proposal,
    ProposalKind,
    ProposalStatus,
    RowResult,
)
from .reader import ListRow, read_list
from .wubao import open_review, payment_end, termination_of

CHUNK = 500
SUPPORT_WORDS = {"dispersed": _l("分散供养"), "centralized": _l("集中供养")}


class ListInvalid(Invalid):
    """A list that cannot be used: every problem with its row and column."""

    code = "invalid_file"

    def __init__(self, problems: list[dict]):
        first = problems[0]
        where = f"第 {first['row']} 行" if first.get("row") else "文件"
        col = f"“{first['column']}”列" if first.get("column") else ""
        more = f"等 {len(problems)} 处问题" if len(problems) > 1 else ""
        super().__init__(
            f"名单有误：{where}{col}：{first['message']}{more}，未保存任何内容",
            fields={"file": first["message"]},
        )
        self.problems = problems


def _setting(name: str, env: str, default: str) -> Decimal:
    value = current_app.config.get(name) or os.environ.get(env) or default
    return to_money(str(value))


def income_line() -> Decimal:
    """The monthly income above which a 特困 person is reviewed (the local 低保
    standard; configurable with ELDERCARE_INCOME_LINE)."""
    return _setting("INCOME_LINE", "ELDERCARE_INCOME_LINE", "700.00")


def tekun_monthly() -> Decimal:
    """The monthly 特困 basic-living payment, for the money figures (a placeholder,
    configurable with ELDERCARE_TEKUN_MONTHLY)."""
    return _setting("TEKUN_MONTHLY", "ELDERCARE_TEKUN_MONTHLY", "990.00")


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split()).replace("·", "").replace(".", "")

    return norm(a) == norm(b)


def _people_by_number(numbers: list[str]) -> dict[str, Person]:
    """The registered people among these normalised numbers, set-wise: each number's
    blind index is computed here, and the registry is joined on the indexed column."""
    by_hash = {crypto.id_number_hash(n): n for n in numbers}
    hashes = sorted(by_hash)
    found: dict[str, Person] = {}
    for i in range(0, len(hashes), CHUNK):
        found.update(
            (by_hash[p.id_number_hash], p)
            for p in db.session.scalars(
                sa.select(Person).where(Person.id_number_hash.in_(hashes[i : i + CHUNK]))
            )
        )
    return found


def _pending(kind: ProposalKind, person_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(person_ids), CHUNK):
        out.update(
            db.session.execute(
                sa.select(Proposal.person_id, Proposal.comparison_id).where(
                    Proposal.kind == kind,
                    Proposal.status == ProposalStatus.PENDING,
                    Proposal.person_id.in_(person_ids[i : i + CHUNK]),
                )
            ).all()
        )
    return out


def _judge(
    kind: ComparisonKind,
    r: ListRow,
    p: Person | None,
    seen: dict[str, int],
    pending: dict[int, int],
    line: Decimal,
) -> tuple[RowResult, str, bool]:
    """(result, reason, makes a proposal) for one row."""
    if p is None:
        return RowResult.UNMATCHED, "身份证号不在本区登记中", False
    if r.id_number in seen:
        return RowResult.AMBIGUOUS, f"与第 {seen[r.id_number]} 行是同一身份证号", False
    if not _same_name(r.name, p.name):
        return RowResult.AMBIGUOUS, f"姓名不符：名单为“{r.name}”，登记为“{p.name}”", False
    if p.status == PersonStatus.DECEASED:
        return RowResult.AMBIGUOUS, f"已登记死亡（{p.death_date}）", False
    if p.status == PersonStatus.MOVED:
        return RowResult.AMBIGUOUS, f"已登记迁出（{p.moved_date}）", False
    if r.date < p.birth_date:
        return RowResult.AMBIGUOUS, "日期早于出生日期", False
    if p.id in pending:
        return RowResult.AMBIGUOUS, f"已有待决定的建议（比对 #{pending[p.id]}）", False
    if kind in ENTRY_KINDS:
        return entrants.judge(kind, r.date, p)
    if kind == ComparisonKind.INCOME:
        if p.current_support is None:
            return RowResult.MATCHED, "非特困供养人员，无需复核", False
        if r.monthly_amount is None or r.monthly_amount <= line:
            return RowResult.MATCHED, f"月收入未超过标准（{money(line)}）", False
        return RowResult.MATCHED, f"月收入 {money(r.monthly_amount)} 高于标准 {money(line)}", True
    return RowResult.MATCHED, "", True


def upload_comparison(
    kind: str, content: bytes, *, filename: str = "", source: str = "", user_id: int | None = None
) -> Comparison:
    """Read a list, match it and store it with its rows and proposals. Raises
    ListInvalid (422) naming every bad row and column; nothing is stored then."""
    try:
        k = ComparisonKind(kind)
    except ValueError:
        raise Invalid(
            _l("比对类型无效"), fields={"kind": "、".join(k.value for k in ComparisonKind)}
        ) from None
    parsed = read_list(content, with_amount=k == ComparisonKind.INCOME)
    if parsed.errors:
        raise ListInvalid(parsed.errors)
    found = _people_by_number(sorted({r.id_number for r in parsed.rows}))
    pending = _pending(ProposalKind.of(k), sorted(p.id for p in found.values()))
    line = income_line()
    comp = Comparison(
        kind=k,
        source=(source or "").strip()[:60],
        filename=filename[:200],
        uploaded_by=user_id,
        rows=len(parsed.rows),
    )
    db.session.add(comp)
    db.session.flush()
    made = _store_rows(comp, parsed.rows, found, pending, line)
    for row, p in made:
        db.session.add(
            Proposal(
                comparison_id=comp.id,
                row_id=row.id,
                person_id=p.id,
                kind=ProposalKind.of(k),
                date=row.date,
                monthly_amount=row.monthly_amount,
            )
        )
    counts = {res: 0 for res in RowResult}
    for res in db.session.scalars(
        sa.select(ComparisonRow.result).where(ComparisonRow.comparison_id == comp.id)
    ):
        counts[res] += 1
    comp.matched, comp.unmatched = counts[RowResult.MATCHED], counts[RowResult.UNMATCHED]
    comp.ambiguous, comp.proposal_count = counts[RowResult.AMBIGUOUS], len(made)
    db.session.flush()
    return comp


def _store_rows(
    comp: Comparison,
    rows: list[ListRow],
    found: dict[str, Person],
    pending: dict[int, int],
    line: Decimal,
) -> list[tuple[ComparisonRow, Person]]:
    """Each row of the list judged and stored (flushed); the rows that make a proposal,
    with their person (one per person: a later row of a person proposed is pending)."""
    seen: dict[str, int] = {}
    made: list[tuple[ComparisonRow, Person]] = []
    for r in rows:
        p = found.get(r.id_number)
        result, reason, propose = _judge(comp.kind, r, p, seen, pending, line)
        seen.setdefault(r.id_number, r.row)
        row = ComparisonRow(
            comparison_id=comp.id,
            row=r.row,
            id_number=r.id_number,
            name=r.name[:64],
            date=r.date,
            monthly_amount=r.monthly_amount,
            result=result,
            reason=reason[:200],
            person_id=p.id if p is not None else None,
        )
        db.session.add(row)
        if propose and p is not None:
            made.append((row, p))
            pending[p.id] = comp.id
    db.session.flush()
    return made


# --- effects --------------------------------------------------------------------------


def describe_core(person: Person, kind: str, on) -> list[str]:
    """What accepting would change in the core: the person's status, the 特困 support
    (ended, payment stopping from the following month), or a special review."""
    out: list[str] = []
    support = person.current_support
    # in the language of whoever reads the proposal (issue 17.11)
    if kind == "death":
        out.append(_("人员状态改为“已故”，死亡日期 %(on)s", on=on))
    elif kind == "moved":
        out.append(_("人员状态改为“迁出本区”，迁出日期 %(on)s", on=on))
    if kind in ("death", "moved") and support is not None:
        nxt = Month.of(payment_end(on)).next()
        out.append(
            _(
                "特困供养（%(support)s，自 %(start)s 起）自 %(on)s 终止，供养金自 %(next)s "
                "起停发，并列入乡镇7天公示",
                support=SUPPORT_WORDS.get(support.support.value, ""),
                start=support.start_date,
                on=on,
                next=f"{nxt.year}-{nxt.month:02d}",
            )
        )
    if kind == "income":
        if support is not None:
            out.append(_("开启特困专项复核（收入高于标准），复核时评估自理能力并决定是否终止供养"))
        else:
            out.append(_("此人已无特困供养，无需复核"))
    return out


def describe(person: Person, kind: str, on) -> list[str]:
    """Every registered describer's sentences: the core's and each feature's."""
    out: list[str] = []
    for fn in registry().hook(EFFECTS):
        out.extend(fn(person, kind, on))
    return out


def effects_of(proposal: Proposal) -> list[str]:
    if proposal.status != ProposalStatus.PENDING:
        return list(proposal.effects or [])
    return describe(proposal.person, entrants.source_kind(proposal), proposal.date)


def get_comparison(comparison_id: int) -> Comparison:
    """The comparison list. Raises NotFound when there is none with that id."""
    comp = db.session.get(Comparison, comparison_id)
    if comp is None:
        raise NotFound("未找到该比对名单")
    return comp


def get_proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(_l("未找到该建议"))
    return proposal


def _decide(
    proposal: Proposal,
    status: ProposalStatus,
    user_id: int | None,
    effects: list[str],
    reason: str = "",
) -> None:
    """Take the decision with a conditional update: of two clerks deciding at once,
    exactly one changes the row; the other gets Conflict."""
    done = db.session.execute(
        sa.update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == ProposalStatus.PENDING)
        .values(
            status=status,
            decided_at=utcnow(),
            decided_by=user_id,
            effects=effects,
            reason=reason[:200],
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(done) != 1:
        raise Conflict(_l("该建议已经处理过"), code="already_decided")
    audit.record(
        f"{status.value}_proposal",
        "proposals",
        proposal.id,
        {
            "person_id": proposal.person_id,
            "kind": proposal.kind.value,
            "date": proposal.date.isoformat(),
            "effects": effects,
            **({"reason": reason} if reason else {}),
        },
    )
    db.session.expire(proposal)


def accept(proposal: Proposal, user_id: int | None = None) -> Proposal:
    """Apply a proposal: a death is recorded (support, stays and enrolments end through
    people.services.record_death and its signal), a move likewise, an income above the
    line opens a special 特困 review, a proposed application is started (entrants.accept).
    All in the caller's transaction. Raises Conflict when it was decided already or the
    registry no longer allows it."""
    if proposal.status != ProposalStatus.PENDING:
        raise Conflict(_l("该建议已经处理过"), code="already_decided")
    person, kind, on, pid = proposal.person, proposal.kind, proposal.date, proposal.id
    effects = describe(person, entrants.source_kind(proposal), on)
    support = person.current_support
    _decide(proposal, ProposalStatus.ACCEPTED, user_id, effects)
    if kind == ProposalKind.PROPOSE_APPLICATION:
        entrants.accept(proposal, user_id)
        db.session.flush()
        return proposal
    if kind == ComparisonKind.DEATH:
        people.record_death(person, on)
    elif kind == ComparisonKind.MOVED:
        people.record_move(person, on)
    else:
        if support is None:
            raise Conflict(_l("此人已无特困供养，无需复核"), code="no_open_support")
        open_review(
            support,
            "income",
            proposal_id=pid,
            notes=f"收入比对：月收入 {money(proposal.monthly_amount or Decimal(0))}",
        )
    if support is not None and kind != ComparisonKind.INCOME:
        t = termination_of(support.id)
        if t is not None:
            t.source, t.proposal_id = "comparison", pid
    db.session.flush()
    return proposal


def reject(proposal: Proposal, reason: str, user_id: int | None = None) -> Proposal:
    """Reject a proposal with a reason; nothing else changes. Raises Invalid without a
    reason, Conflict when it was decided already."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("请填写不采纳的理由"), fields={"reason": _l("不能为空")})
    _decide(proposal, ProposalStatus.REJECTED, user_id, [], reason)
    db.session.flush()
    return proposal
