"""The decision of each line of a claim once the machine has given its own
(reconcile.py): the clerk's override with its written reason, kept across
reconciliations; the claim's totals that follow from the lines; what is still undecided.
Both the claim's steps (services.py) and the call-backs (callbacks.py: a visit found not
delivered rejects its lines) decide lines here, so neither imports the other for it.
Functions flush, never commit.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import from_fen, stored, to_money, utcnow
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import User

from . import presence
from .models import BIT, Claim, ClaimLine, ClaimStatus, Decision, reasons_of


def store_totals(claim: Claim) -> None:
    """The claim's claimed, approved and rejected totals from its lines' decisions."""
    claimed, approved = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(stored(ClaimLine.amount)), 0),
            sa.func.coalesce(sa.func.sum(stored(ClaimLine.approved_amount)), 0),
        ).where(ClaimLine.claim_id == claim.id)
    ).one()
    claim.claimed_total = from_fen(claimed)
    claim.approved_total = from_fen(approved)
    claim.rejected_total = claim.claimed_total - claim.approved_total
    db.session.flush()


def lines(claim: Claim) -> list[dict]:
    """The lines as API.md answers them, in one query."""
    rows = db.session.execute(
        sa.select(
            ClaimLine.line_no,
            ClaimLine.visit_id,
            ClaimLine.amount,
            ClaimLine.approved_amount,
            ClaimLine.decision,
            ClaimLine.reason_bits,
            ClaimLine.override_decision,
            ClaimLine.accepted_bits,
        )
        .where(ClaimLine.claim_id == claim.id)
        .order_by(ClaimLine.line_no)
    )
    return [
        {
            "line_no": n,
            "visit_id": vid,
            "claimed": amt,
            "approved": appr if appr is not None else None,
            "decision": dec.value if dec else None,
            "reasons": reasons_of(bits),
            "overridden": ovr is not None,
            "held": presence.is_held(bits, acc, dec),
        }
        for n, vid, amt, appr, dec, bits, ovr, acc in rows
    ]


def override(
    claim: Claim,
    line_no: int,
    decision: str,
    reason: str,
    user: User,
    amount: Decimal | None = None,
) -> ClaimLine:
    """The clerk's decision on one line, with a written reason (audited); kept across
    reconciliations. `approved` pays the claimed amount, `rejected` nothing, `adjusted`
    the amount given (not above the claimed). `auto` withdraws the override.
    Raises Invalid, Conflict (not reconciled, or already approved)."""
    if claim.status != ClaimStatus.RECONCILED:
        raise Conflict("只能在对账后、审批前更改明细的结论", code="wrong_status")
    reason = (reason or "").strip()
    line = db.session.scalar(
        sa.select(ClaimLine).where(ClaimLine.claim_id == claim.id, ClaimLine.line_no == line_no)
    )
    if line is None:
        raise Invalid(f"没有第 {line_no} 条明细", fields={"line_no": _l("不存在")})
    before = _decided(line)
    if decision == "auto":
        _withdraw(line)
    else:
        _decide(line, decision, reason, user, amount)
    db.session.flush()
    audit.record(
        "claim_line_override",
        "claim_lines",
        line.id,
        {
            "claim_id": claim.id,
            "line_no": line_no,
            "before": before,
            "after": _decided(line),
            "reason": reason,
        },
    )
    store_totals(claim)
    return line


def _decided(line: ClaimLine) -> dict:
    """A line's effective decision and amount, as the audit log keeps them."""
    return {
        "decision": line.decision.value if line.decision else None,
        "approved": str(line.approved_amount),
    }


def _withdraw(line: ClaimLine) -> None:
    """The override withdrawn: the line is as reconciliation decided it."""
    line.override_decision, line.override_amount, line.override_reason = None, None, ""
    line.override_by_id, line.override_at = None, None
    line.decision, line.approved_amount = line.auto_decision, line.auto_amount


def _decide(
    line: ClaimLine, decision: str, reason: str, user: User, amount: Decimal | None
) -> None:
    """The clerk's decision, with its reason: approved pays the claimed amount, rejected
    nothing, adjusted the amount given (0 to the claimed). Raises Invalid."""
    if not reason:
        raise Invalid("请写明更改结论的理由", fields={"reason": _l("必填")})
    try:
        chosen = Decision(decision)
    except ValueError:
        raise Invalid(
            "结论须为 approved、adjusted 或 rejected", fields={"decision": _l("未知的结论")}
        ) from None
    if chosen == Decision.APPROVED:
        amount = line.amount
    elif chosen == Decision.REJECTED:
        amount = Decimal("0.00")
    elif amount is None or to_money(amount) < 0 or to_money(amount) > line.amount:
        raise Invalid("调整金额须在 0 与申报金额之间", fields={"amount": _l("超出范围")})
    # The user's id first: loading an expired user would autoflush a decision
    # without its reason, which the CHECK refuses.
    by_id = user.id
    line.override_decision, line.override_amount = chosen, to_money(amount)
    line.override_reason, line.override_by_id, line.override_at = reason, by_id, utcnow()
    line.decision, line.approved_amount = chosen, to_money(amount)


def undecided(claim: Claim) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(ClaimLine.id)).where(
                ClaimLine.claim_id == claim.id, ClaimLine.decision.is_(None)
            )
        )
        or 0
    )


def exception_counts(claim: Claim) -> dict[str, int]:
    """Lines per reason code, in one query (bit tests summed)."""
    cols = [
        sa.func.count(ClaimLine.id).filter(ClaimLine.reason_bits.op("&")(bit) != 0).label(code)
        for code, bit in BIT.items()
    ]
    row = db.session.execute(sa.select(*cols).where(ClaimLine.claim_id == claim.id)).one()
    return {code: int(row._mapping[code]) for code in BIT if row._mapping[code]}
