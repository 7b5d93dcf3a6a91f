"""Settlement statements (结算单) of a claim, as .xlsx (openpyxl) and PDF (reportlab, the Chinese
font embedded and the file aimed at PDF/A-2b: eldercare.pdf), with the blocks for the
signatures and the seal (经办人, 审核人, 单位盖章) that a settlement carries: the provider's and the
bureau's totals, subtotals per township, and the lines not paid as claimed with their
reasons in words, beside those a clerk decided by hand (an override paid in full is money
the reconciliation would not have paid: the statement that is signed and paid on shows it,
with the clerk's written reason) or paid although their visit lacked proof of presence
(accepted, with the reason), and the recoveries (扣回) of earlier claims that this one
deducts, down to what is payable."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook

from eldercare.database import from_fen, stored
from eldercare.exports import cell
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


@dataclass
class Statement:
    claim: Claim
    townships: list[tuple[str, int, Decimal, Decimal]]  # name, lines, claimed, approved
    exceptions: list[dict]
    recoveries: list[dict]


def build(claim: Claim) -> Statement:
    """The figures of a statement, in three queries."""
    v_join = sa.and_(Visit.id == ClaimLine.visit_id, Visit.provider_id == claim.provider_id)
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
    townships = sorted(
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
    exceptions = [
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
    return Statement(claim, townships, exceptions, recoveries.of_claim(claim))


def _history(c: Claim) -> list[tuple[str, str]]:
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


def _summary(s: Statement) -> list[tuple[str, object]]:
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
        *_history(c),
    ]


def xlsx(claim: Claim) -> bytes:
    s = build(claim)
    wb = Workbook()
    ws = wb.active
    ws.title = _("结算汇总")
    ws.append([str(TITLE)])
    for label, value in _summary(s):
        ws.append([label, cell(value)])
    ws.append([])
    ws.append([_("乡镇（街道）"), _("明细（条）"), _("申报金额"), _("核定金额")])
    for name, n, claimed, approved in s.townships:
        ws.append([cell(name), n, claimed, approved])
    ws.append([_("合计"), claim.line_count, claim.claimed_total, claim.approved_total])
    ws.append([])
    for label in SIGNATURES:  # the printed sheet carries the same signature blocks
        ws.append([str(label), "　　　　" + _("年　　月　　日")])
    ex = wb.create_sheet(str(EXCEPTIONS))
    ex.append(
        [
            _("序号"),
            _("服务记录"),
            _("老人"),
            _("服务日期"),
            _("服务项目"),
            _("数量"),
            _("申报金额"),
            _("核定金额"),
            _("结论"),
            _("原因"),
            _("经办说明"),
        ]
    )
    for x in s.exceptions:
        ex.append(
            [
                x["line_no"],
                x["visit_id"],
                cell(x["name"]),
                cell(x["service_date"]),
                cell(x["service"]),
                x["quantity"],
                x["claimed"],
                x["approved"],
                cell(x["decision"]),
                cell(x["reasons"]),
                cell(x["note"]),
            ]
        )
    rec = wb.create_sheet(str(RECOVERIES))
    rec.append(
        [_("服务记录"), _("老人"), _("原结算月份"), _("原结算单编号"), _("扣回金额"), _("补贴退回")]
    )
    for r in s.recoveries:
        rec.append(
            [
                r["visit_id"],
                cell(r["name"]),
                cell(r["from_month"]),
                r["from_claim_id"],
                r["amount"],
                cell(str(LEDGER_WORDS[r["ledger"]])),
            ]
        )
    rec.append([_("合计"), None, None, None, claim.recovered_total])
    for sheet, widths in (
        (ws, (26, 30, 14, 14)),
        (ex, (6, 10, 10, 12, 10, 8, 10, 10, 10, 60, 30)),
        (rec, (10, 10, 12, 12, 12, 30)),
    ):
        for i, w in enumerate(widths):
            sheet.column_dimensions[chr(65 + i)].width = w
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf(claim: Claim) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from eldercare.pdf import pdfa, register_font

    font = register_font()  # embedded: a PC without a Chinese font shows no boxes
    s = build(claim)
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=22)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=12)
    small = ParagraphStyle("s", fontName=font, fontSize=8, leading=10)
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    story = [Paragraph(str(TITLE), title), Spacer(1, 4 * mm)]
    story.append(
        Table(
            [[k, str(v)] for k, v in _summary(s)],
            colWidths=(50 * mm, 90 * mm),
            style=TableStyle(
                [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10)]
            ),
        )
    )
    story += [Spacer(1, 4 * mm), Paragraph(_("分乡镇（街道）小计"), body)]
    rows = [[_("乡镇（街道）"), _("明细（条）"), _("申报金额（元）"), _("核定金额（元）")]]
    rows += [[n, str(k), f"{c:,.2f}", f"{a:,.2f}"] for n, k, c, a in s.townships]
    rows.append(
        [
            _("合计"),
            str(claim.line_count),
            f"{claim.claimed_total:,.2f}",
            f"{claim.approved_total:,.2f}",
        ]
    )
    story.append(Table(rows, style=grid, repeatRows=1))
    story += [
        Spacer(1, 4 * mm),
        Paragraph(_("%(what)s的明细（%(n)s 条）", what=EXCEPTIONS, n=len(s.exceptions)), body),
    ]
    rows = [
        [
            _("序号"),
            _("服务记录"),
            _("老人"),
            _("服务日期"),
            _("项目"),
            _("申报"),
            _("核定"),
            _("结论"),
            _("原因"),
        ]
    ]
    rows += [
        [
            str(x["line_no"]),
            str(x["visit_id"] or "—"),
            x["name"],
            x["service_date"].isoformat(),
            x["service"],
            f"{x['claimed']:,.2f}",
            f"{x['approved'] or 0:,.2f}",
            x["decision"],
            Paragraph(x["reasons"] + (f"（{x['note']}）" if x["note"] else ""), small),
        ]
        for x in s.exceptions
    ]
    story.append(
        Table(
            rows,
            style=grid,
            repeatRows=1,
            colWidths=(
                12 * mm,
                16 * mm,
                18 * mm,
                22 * mm,
                16 * mm,
                18 * mm,
                18 * mm,
                16 * mm,
                120 * mm,
            ),
        )
    )
    if s.recoveries:
        story += [
            Spacer(1, 4 * mm),
            Paragraph(
                _(
                    "%(what)s：回访确认未提供服务、已在此前结算中支付的款项（%(n)s 笔）",
                    what=RECOVERIES,
                    n=len(s.recoveries),
                ),
                body,
            ),
        ]
        rows = [
            [
                _("服务记录"),
                _("老人"),
                _("原结算月份"),
                _("原结算单"),
                _("扣回金额（元）"),
                _("补贴退回"),
            ]
        ]
        rows += [
            [
                str(r["visit_id"]),
                r["name"],
                r["from_month"],
                str(r["from_claim_id"]),
                f"{r['amount']:,.2f}",
                str(LEDGER_WORDS[r["ledger"]]),
            ]
            for r in s.recoveries
        ]
        rows.append([_("合计"), "", "", "", f"{claim.recovered_total:,.2f}", ""])
        story.append(Table(rows, style=grid, repeatRows=1))
    story += [Spacer(1, 8 * mm), signature_blocks(font)]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        title=str(TITLE),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        initialFontName=font,
    ).build(story)  # not Helvetica: PDF/A embeds all
    lang = "zh-CN" if str(get_locale() or "zh") == "zh" else "en"
    return pdfa(out.getvalue(), str(TITLE), lang=lang)


SIGNATURES = (_l("服务组织（盖章）"), _l("经办人（签字）"), _l("审核人（签字）"), _l("单位盖章"))


def signature_blocks(font: str):
    """Four boxes kept on one page: the provider's seal, the bureau's clerk (经办人) and
    reviewer (审核人), and the bureau's seal (单位盖章), each with room and a date line."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Table, TableStyle

    date_line = "　　　　" + _("年　　月　　日")
    cells = [[f"{label}\n\n\n\n{date_line}" for label in SIGNATURES]]
    table = Table(
        cells,
        colWidths=(66 * mm,) * 4,
        rowHeights=(34 * mm,),
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                ("INNERGRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        ),
    )
    return KeepTogether([table])
