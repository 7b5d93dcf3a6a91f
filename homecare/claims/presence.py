"""Proof of presence at reconciliation (issue 14): a claim line is held until a clerk
resolves its presence exceptions.

Reconciliation carries the presence exceptions of a line's visit into the line's reasons
(`bits`, part of the one UPDATE in reconcile.py): `same_place`,
`impossible_travel`, `suspect_card`, `far_from_home`, `future_time`, `late_upload`,
`no_location`, `no_home_point`. They decide no amount (the money rules do), but, as US
EVV aggregators hold a claim until each visit exception is resolved with a reason code,
a line that carries one is *held*: the claim cannot be approved until the clerk has
either accepted it with a reason (`accept`: the line is paid as the money rules decided;
the codes accepted are kept, so that an exception found later holds it again) or
rejected it (`reject`: nothing paid, as a clerk's override with the reason in words).
A line the money rules reject pays nothing and is not held. Both are audited, one entry
per resolution with the lines it covered.

A line is held when `reason_bits & MASK` has a bit that `accepted_bits` lacks and its
effective decision is not `rejected` (`held_clause`, `is_held`). Reconciling again
rewrites only the machine's columns: what a clerk resolved stays resolved.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from eldercare import audit
from eldercare.database import utcnow
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import User

from .models import BIT, PRESENCE_REASONS, Claim, ClaimLine, ClaimStatus, Decision

MASK = sum(BIT[code] for code in PRESENCE_REASONS)
MAX_LINES = 10_000  # line numbers in one resolution (a claim's held lines, at most)

#: Why a clerk lets a held line be paid (stored as the code; words here and in labels.py).
ACCEPT_REASONS = {
    "callback_confirmed": "电话回访老人，确认当天已服务",
    "provider_proof": "服务组织提供了到场证明（照片、签字单等）",
    "home_point_pending": "老人住址定位待采集，服务本身无疑问",
    "poor_coverage": "该处信号或定位不好，已核实",
    "other": "其他（见说明）",
}
#: Why a clerk refuses to pay a held line (written into the override's reason).
REJECT_REASONS = {
    "no_proof": "无法证明服务人员到场",
    "elder_denied": "老人或家属否认当天有人上门",
    "office_scanning": "服务卡不在老人家中扫码（集中扫码、补扫）",
    "other": "其他（见说明）",
}
ACTIONS = ("accept", "reject")


def bits(exceptions) -> sa.ColumnElement:
    """The presence bits of a visit's exceptions (its JSON list cast to text), in SQL:
    NULL (no visit, or another provider's) gives 0."""
    return sum(
        (
            sa.case((exceptions.contains(f'"{code}"'), BIT[code]), else_=0)
            for code in PRESENCE_REASONS
        ),
        sa.literal(0),
    )


def held_clause(line=ClaimLine) -> sa.ColumnElement:
    """SQL: the line carries a presence exception no clerk accepted, and pays something."""
    pres = line.reason_bits.op("&")(MASK)
    return sa.and_(
        pres != 0,
        pres.op("&")(line.accepted_bits) != pres,
        sa.or_(line.decision.is_(None), line.decision != Decision.REJECTED),
    )


def is_held(reason_bits: int, accepted_bits: int, decision) -> bool:
    """held_clause in Python, for lines already loaded."""
    pres = (reason_bits or 0) & MASK
    value = getattr(decision, "value", decision)
    return bool(pres & ~(accepted_bits or 0)) and value != Decision.REJECTED.value


def unaccepted(reason_bits: int, accepted_bits: int) -> list[str]:
    """The presence codes of a line that no clerk accepted, in REASONS order."""
    left = (reason_bits or 0) & MASK & ~(accepted_bits or 0)
    return [code for code in PRESENCE_REASONS if left & BIT[code]]


def acceptance_words(line: ClaimLine) -> str:
    """A clerk's acceptance in words (statements): "" where there is none."""
    if not line.accepted_bits:
        return ""
    words = "到场异常已接受：" + ACCEPT_REASONS.get(line.accepted_reason, line.accepted_reason)
    return words + (f"（{line.accepted_note}）" if line.accepted_note else "")


def summary(claim: Claim) -> dict:
    """The claim's held lines: how many, and per presence code how many of them carry it
    unaccepted (a line may count under several). One query."""
    pres = ClaimLine.reason_bits.op("&")(MASK)
    left = pres - pres.op("&")(ClaimLine.accepted_bits)
    cols = [sa.func.count(ClaimLine.id)] + [
        sa.func.count(ClaimLine.id).filter(left.op("&")(BIT[code]) != 0)
        for code in PRESENCE_REASONS
    ]
    total, *counts = db.session.execute(
        sa.select(*cols).where(ClaimLine.claim_id == claim.id, held_clause())
    ).one()
    return {
        "lines": int(total),
        "by_exception": {c: int(n) for c, n in zip(PRESENCE_REASONS, counts, strict=True) if n},
    }


def held_count(claim: Claim) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(ClaimLine.id)).where(
                ClaimLine.claim_id == claim.id, held_clause()
            )
        )
        or 0
    )


def _lock(claim: Claim) -> None:
    """The claim row, locked until the transaction ends (PostgreSQL; SQLite's write
    transactions are serialised already), then read again: a reconciliation that is
    marking new exceptions at this moment finishes first, and what follows sees them."""
    db.session.execute(sa.select(Claim.id).where(Claim.id == claim.id).with_for_update())
    db.session.refresh(claim)


def check_released(claim: Claim) -> None:
    """Refuse to go on while a line of `claim` is held: Conflict `held_lines` (409).
    Locks the claim first (_lock), so that an approval and a reconciliation that holds a
    line cannot both pass."""
    _lock(claim)
    held = held_count(claim)
    if held:
        raise Conflict(
            f"还有 {held} 条明细的到场异常未处理（接受或拒付），不能审批", code="held_lines"
        )


def _check(action: str, reason: str, note: str, line_nos, exception) -> None:
    if action not in ACTIONS:
        raise Invalid(
            "处理方式须为 accept（接受）或 reject（拒付）",
            fields={"action": "须为 accept 或 reject"},
        )
    allowed = ACCEPT_REASONS if action == "accept" else REJECT_REASONS
    if reason not in allowed:
        raise Invalid("未知的理由代码", fields={"reason": "须为 " + "、".join(allowed)})
    if reason == "other" and not note:
        raise Invalid("理由为“其他”时须写明说明", fields={"note": "必填"})
    if exception is not None and exception not in PRESENCE_REASONS:
        raise Invalid(
            "未知的到场异常代码", fields={"exception": "须为 " + "、".join(PRESENCE_REASONS)}
        )
    if exception is None and not line_nos:
        raise Invalid(
            "请指明要处理的明细（序号）或到场异常代码",
            fields={"line_nos": "与 exception 至少填一项"},
        )
    if line_nos and len(line_nos) > MAX_LINES:
        raise Invalid(f"一次最多处理 {MAX_LINES} 条", fields={"line_nos": "太多"})


def resolve(
    claim: Claim,
    user: User,
    action: str,
    reason: str,
    note: str = "",
    line_nos: list[int] | None = None,
    exception: str | None = None,
) -> dict:
    """Accept or reject held lines of a reconciled claim: those numbered `line_nos`, or
    every held line carrying `exception` unaccepted (both: those of the numbers that
    carry it). One conditional UPDATE over the held lines (a line resolved meanwhile by
    another clerk is left as they left it), one audit entry.

    `accept`: the line is paid as the money rules decided; its presence codes are kept as
    accepted with `reason` (ACCEPT_REASONS) and `note`. `reject`: the line is overridden
    to `rejected` with the reason in words. Raises Invalid (action, reason, `other`
    without a note, an unknown code or line number), Conflict (the claim is not
    reconciled, or is approved). Changes the lines and, on reject, the claim's totals.
    Returns {"resolved": n, "line_nos": [...], "held": lines still held}."""
    from . import decisions  # decisions shows the lines through is_held

    note = (note or "").strip()[:500]
    line_nos = sorted({int(n) for n in line_nos or []})
    _check(action, reason, note, line_nos, exception)
    _lock(claim)
    if claim.status != ClaimStatus.RECONCILED:
        raise Conflict("只能在对账后、审批前处理到场异常", code="wrong_status")
    where = _chosen(claim, line_nos, exception)
    values = _resolution(action, reason, note, user)
    done = sorted(
        db.session.scalars(
            sa.update(ClaimLine)
            .where(*where, held_clause())
            .values(**values)
            .returning(ClaimLine.line_no)
            .execution_options(synchronize_session=False)
        )
    )
    if done:
        audit.record(
            f"claim_lines_presence_{action}ed",
            "claims",
            claim.id,
            {
                "lines": done,
                "reason": reason,
                "note": note,
                "exception": exception,
                "by": user.username,
            },
        )
        if action == "reject":
            decisions.store_totals(claim)
    return {"resolved": len(done), "line_nos": done, "held": held_count(claim)}


def _chosen(claim: Claim, line_nos: list[int], exception: str | None) -> list:
    """Which lines of the claim a resolution is for: those numbered (Invalid for a number
    the claim does not have), those carrying `exception` not yet accepted, or both."""
    where = [ClaimLine.claim_id == claim.id]
    if line_nos:
        known = set(
            db.session.scalars(
                sa.select(ClaimLine.line_no).where(
                    ClaimLine.claim_id == claim.id, ClaimLine.line_no.in_(line_nos)
                )
            )
        )
        if missing := [n for n in line_nos if n not in known]:
            raise Invalid(
                f"没有第 {missing[0]} 条明细",
                fields={"line_nos": "不存在：" + "、".join(map(str, missing[:20]))},
            )
        where.append(ClaimLine.line_no.in_(line_nos))
    if exception is not None:
        pres = ClaimLine.reason_bits.op("&")(MASK)
        where.append((pres - pres.op("&")(ClaimLine.accepted_bits)).op("&")(BIT[exception]) != 0)
    return where


def _resolution(action: str, reason: str, note: str, user: User) -> dict:
    """What a resolution writes on a line: accepted, its presence codes kept as accepted
    with the reason; or rejected by a clerk's override, with the reason in words."""
    now = utcnow()
    if action == "accept":
        return {
            "accepted_bits": ClaimLine.reason_bits.op("&")(MASK),
            "accepted_reason": reason,
            "accepted_note": note,
            "accepted_by_id": user.id,
            "accepted_at": now,
        }
    words = "到场存疑，不予支付：" + REJECT_REASONS[reason] + (f"（{note}）" if note else "")
    return {
        "override_decision": Decision.REJECTED,
        "override_amount": Decimal("0.00"),
        "override_reason": words[:500],
        "override_by_id": user.id,
        "override_at": now,
        "decision": Decision.REJECTED,
        "approved_amount": Decimal("0.00"),
    }
