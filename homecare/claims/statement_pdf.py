"""A claim's settlement statement (结算单) as PDF (reportlab, the Chinese font embedded and
the file aimed at PDF/A-2b: eldercare.pdf): the summary, the subtotals per township, the
lines not paid as claimed and the recoveries (扣回) deducted, then the signature and seal
blocks on one page. The figures are statements.build's, as in the .xlsx. Imported when a
statement is asked for, so that reportlab is not loaded at start."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from eldercare.pdf import pdfa, register_font

from .models import Claim
from .statements import (
    EXCEPTIONS,
    LEDGER_WORDS,
    RECOVERIES,
    SIGNATURES,
    TITLE,
    Statement,
    build,
    summary,
)

#: The exceptions table's columns, the reasons (with the clerk's words) the widest.
EXCEPTION_WIDTHS = tuple(w * mm for w in (12, 16, 18, 22, 16, 18, 18, 16, 120))


@dataclass(frozen=True)
class _Styles:
    font: str
    title: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    grid: TableStyle


def _styles(font: str) -> _Styles:
    return _Styles(
        font,
        ParagraphStyle("t", fontName=font, fontSize=16, leading=22),
        ParagraphStyle("b", fontName=font, fontSize=9, leading=12),
        ParagraphStyle("s", fontName=font, fontSize=8, leading=10),
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        ),
    )


def pdf(claim: Claim) -> bytes:
    st = _styles(register_font())  # embedded: a PC without a Chinese font shows no boxes
    s = build(claim)
    story = [
        *_summary(s, st),
        *_townships(s, st),
        *_exceptions(s, st),
        *_recoveries(s, st),
        Spacer(1, 8 * mm),
        signature_blocks(st.font),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        title=str(TITLE),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        initialFontName=st.font,
    ).build(story)  # not Helvetica: PDF/A embeds all
    lang = "zh-CN" if str(get_locale() or "zh") == "zh" else "en"
    return pdfa(out.getvalue(), str(TITLE), lang=lang)


def _summary(s: Statement, st: _Styles) -> list:
    return [
        Paragraph(str(TITLE), st.title),
        Spacer(1, 4 * mm),
        Table(
            [[k, str(v)] for k, v in summary(s)],
            colWidths=(50 * mm, 90 * mm),
            style=TableStyle(
                [("FONTNAME", (0, 0), (-1, -1), st.font), ("FONTSIZE", (0, 0), (-1, -1), 10)]
            ),
        ),
    ]


def _townships(s: Statement, st: _Styles) -> list:
    claim = s.claim
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
    return [
        Spacer(1, 4 * mm),
        Paragraph(_("分乡镇（街道）小计"), st.body),
        Table(rows, style=st.grid, repeatRows=1),
    ]


def _exceptions(s: Statement, st: _Styles) -> list:
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
            Paragraph(x["reasons"] + (f"（{x['note']}）" if x["note"] else ""), st.small),
        ]
        for x in s.exceptions
    ]
    return [
        Spacer(1, 4 * mm),
        Paragraph(_("%(what)s的明细（%(n)s 条）", what=EXCEPTIONS, n=len(s.exceptions)), st.body),
        Table(rows, style=st.grid, repeatRows=1, colWidths=EXCEPTION_WIDTHS),
    ]


def _recoveries(s: Statement, st: _Styles) -> list:
    if not s.recoveries:
        return []
    heading = _(
        "%(what)s：回访确认未提供服务、已在此前结算中支付的款项（%(n)s 笔）",
        what=RECOVERIES,
        n=len(s.recoveries),
    )
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
    rows.append([_("合计"), "", "", "", f"{s.claim.recovered_total:,.2f}", ""])
    return [
        Spacer(1, 4 * mm),
        Paragraph(heading, st.body),
        Table(rows, style=st.grid, repeatRows=1),
    ]


def signature_blocks(font: str):
    """Four boxes kept on one page: the provider's seal, the bureau's clerk (经办人) and
    reviewer (审核人), and the bureau's seal (单位盖章), each with room and a date line."""
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
