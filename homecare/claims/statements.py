"""Settlement statements (结算单) of a claim: the figures that the .xlsx
(statement_xlsx.py) and the PDF (statement_pdf.py) both print, with the blocks for the
signatures and the seal (经办人, 审核人, 单位盖章) that a settlement carries: the provider's
and the bureau's totals, subtotals per township, and the lines not paid as claimed with
their reasons in words, beside those a clerk decided by hand (an override paid in full is
money the reconciliation would not have paid: the statement that is signed and paid on
shows it, with the clerk's written reason) or paid although their visit lacked proof of
presence (accepted, with the reason), and the recoveries (扣回) of earlier claims that
this one deducts, down to what is payable."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.database import from_fen, stored
from eldercare.extensions import db
from eldercare.models import Person, Region
from eldercare.timeutil import to_local

from ..models import Enrolment, Visit
from ..services import service_names
from . import presence, recoveries
from .labels import DECISION_LABELS, STATUS_LABELS, reasons_text
from .models import Claim, ClaimLine, Decision, reasons_of

TITLE = _l("游仙区政府购买居家养老服务结算单")
LEDGER_WORDS = {
    "reversed": _l("已退回老人补贴账户"),
    "expired": _l("已退回，因跨年度作废"),
    "none": _l("该次服务未使用补贴"),
}
EXCEPTIONS = _l("核减、不予支付及改判")  # the sheet, and the PDF's table of those lines


RECOVERIES = _l("扣回")  # the sheet, and the PDF's table, of recoveries deducted
SIGNATURES = (_l("服务组织（盖章）"), _l("经办人（签字）"), _l("审核人（签字）"), _l("单位盖章"))


@dataclass
class Statement:
    claim: Claim
    townships: list[tuple[str, int, Decimal, Decimal]]  # name, lines, claimed, approved
    exceptions: list[dict]
    recoveries: list[dict]


def build(claim: Claim) -> Statement:
    """The figures of a statement, in three queries."""
    # a line's visit, when it names one of this provider's
    v_join = sa.and_(Visit.id == ClaimLine.visit_id, Visit.provider_id == claim.provider_id)
    return Statement(
        claim,
        _township_subtotals(claim, v_join),
        _exception_lines(claim, v_join),
        recoveries.of_claim(claim),
    )


def _township_subtotals(claim: Claim, v_join) -> list[tuple[str, int, Decimal, Decimal]]:
    """Lines, claimed and approved per township of the elders, by name; the lines
    without a visit last."""
    rows = db.session.execute(
        sa.select(
            Person.township_code,
            sa.func.count(ClaimLine.id),
            sa.func.sum(stored(ClaimLine.amount)),
            sa.func.sum(sa.func.coalesce(stored(ClaimLine.approved_amount), 0)),
        )
        .select_from(ClaimLine)
        .outerjoin(Visit, v_join)
        .outerjoin(Enrolment, Enrolment.id == Visit.enrolment_id)
        .outerjoin(Person, Person.id == Enrolment.person_id)
        .where(ClaimLine.claim_id == claim.id)
        .group_by(Person.township_code)
    ).all()
    names = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.code.in_([r[0] for r in rows if r[0]]))
        ).all()
    )
    return sorted(
        (
            (
                names.get(code, code) if code else _("（无对应服务记录）"),
                n,
                from_fen(c),
                from_fen(a),
            )
            for code, n, c, a in rows
        ),
        key=lambda t: (t[0].startswith("（"), t[0]),
    )


def _exception_lines(claim: Claim, v_join) -> list[dict]:
    """The lines not paid as claimed, decided by hand, or paid although their visit
    lacked proof of presence, with the reasons and the clerk's words."""
    ex = db.session.execute(
        sa.select(ClaimLine, Person.name)
        .select_from(ClaimLine)
        .outerjoin(Visit, v_join)
        .outerjoin(Enrolment, Enrolment.id == Visit.enrolment_id)
        .outerjoin(Person, Person.id == Enrolment.person_id)
        .where(
            ClaimLine.claim_id == claim.id,
            sa.or_(
                ClaimLine.decision != Decision.APPROVED,
                ClaimLine.override_decision.is_not(None),
                ClaimLine.accepted_bits != 0,
            ),
        )
        .order_by(ClaimLine.line_no)
    ).all()
    services = service_names()
    return [
        {
            "line_no": x.line_no,
            "visit_id": x.visit_id,
            "name": name or "",
            "service_date": x.service_date,
            "service_code": x.service_code,
            "service": services.get(x.service_code, x.service_code),
            "quantity": x.quantity,
            "claimed": x.amount,
            "approved": x.approved_amount,
            "decision": (str(DECISION_LABELS[x.decision.value]) if x.decision else "")
            + (_("（改判）") if x.override_decision is not None else ""),
            "reasons": reasons_text(reasons_of(x.reason_bits)),
            "note": x.override_reason or presence.acceptance_words(x),
        }
        for x, name in ex
    ]


def history(c: Claim) -> list[tuple[str, str]]:
    out = []
    for label, who, at in (
        (_("提交"), c.submitted_by, c.submitted_at),
        (_("对账"), c.reconciled_by, c.reconciled_at),
        (_("审批"), c.approved_by, c.approved_at),
        (_("支付"), c.paid_by, c.paid_at),
    ):
        if at:
            name = (who.display_name or who.username) if who else _("系统")
            out.append((label, f"{to_local(at):%Y-%m-%d %H:%M} {name}"))
    return out


def summary(s: Statement) -> list[tuple[str, object]]:
    c = s.claim
    return [
        (_("服务组织"), c.provider.name),
        (_("结算月份"), c.month),
        (_("状态"), str(STATUS_LABELS[c.status.value])),
        (_("申报明细（条）"), c.line_count),
        (_("服务组织申报金额（元）"), c.claimed_total),
        (_("民政局核定金额（元）"), c.approved_total),
        (_("核减金额（元）"), c.rejected_total),
        (_("扣回金额（元）"), c.recovered_total),
        (_("应付金额（元）"), c.payable),
        *history(c),
    ]
