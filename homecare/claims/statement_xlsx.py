"""A claim's settlement statement (结算单) as .xlsx: the summary with the subtotals per
township and the signature blocks, then a sheet of the lines not paid as claimed (or
decided by hand, or accepted without proof of presence) and one of the recoveries (扣回)
deducted. The figures are statements.build's, as in the PDF."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from openpyxl import Workbook

from eldercare.exports import cell

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

WIDTHS = (  # per sheet, its columns' widths
    (26, 30, 14, 14),
    (6, 10, 10, 12, 10, 8, 10, 10, 10, 60, 30),
    (10, 10, 12, 12, 12, 30),
)


def xlsx(claim: Claim) -> bytes:
    s = build(claim)
    wb = Workbook()
    sheets = (_summary_sheet(wb, s), _exceptions_sheet(wb, s), _recoveries_sheet(wb, s))
    for sheet, widths in zip(sheets, WIDTHS, strict=True):
        for i, w in enumerate(widths):
            sheet.column_dimensions[chr(65 + i)].width = w
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _summary_sheet(wb: Workbook, s: Statement):
    claim = s.claim
    ws = wb.active
    ws.title = _("结算汇总")
    ws.append([str(TITLE)])
    for label, value in summary(s):
        ws.append([label, cell(value)])
    ws.append([])
    ws.append([_("乡镇（街道）"), _("明细（条）"), _("申报金额"), _("核定金额")])
    for name, n, claimed, approved in s.townships:
        ws.append([cell(name), n, claimed, approved])
    ws.append([_("合计"), claim.line_count, claim.claimed_total, claim.approved_total])
    ws.append([])
    for label in SIGNATURES:  # the printed sheet carries the same signature blocks
        ws.append([str(label), "　　　　" + _("年　　月　　日")])
    return ws


def _exceptions_sheet(wb: Workbook, s: Statement):
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
    return ex


def _recoveries_sheet(wb: Workbook, s: Statement):
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
    rec.append([_("合计"), None, None, None, s.claim.recovered_total])
    return rec
