"""Home-care exports of figure pages (issue 17.10): the dashboard's tables and an
elder's ledger, as .xlsx or .csv like every list (eldercare.exports). A figure page
exports one row per figure: group, item, measure, value."""

from __future__ import annotations

from decimal import Decimal

from flask import Response

from eldercare.exports import export_response

FIGURE_HEADERS = ["分组", "项目", "指标", "数值"]


def dashboard(figs: dict, year: int, outcome_labels: dict, outcomes, unknown: str) -> Response:
    """The four tables of /homecare/dashboard, as shown to the viewer."""

    def rows():
        for r in figs["providers"]:
            yield "服务组织", r["provider"], "已下拨（元）", r["allocated"]
            yield "服务组织", r["provider"], "已使用（元）", r["used"]
        for r in figs["townships"]:
            yield "乡镇（街道）", r["township"] or unknown, "已使用（元）", r["used"]
        for r in figs["months"]:
            yield "月份", r["month"], "服务次数", r["visits"]
            yield "月份", r["month"], "异常服务次数", r["flagged"]
        for k in outcomes:
            yield "电话回访", outcome_labels[k], "回访次数", figs["callbacks"][k]

    return export_response(f"homecare-dashboard-{year}", FIGURE_HEADERS, rows())


KIND_LABELS = {
    "allocation": "补贴入账",
    "visit_debit": "服务扣款",
    "reversal": "冲回",
    "expiry": "年度结余作废",
}


def ledger(e, led) -> Response:
    """An enrolment's ledger entries, oldest first, with the balance after each (the
    last one is the page's balance)."""
    headers = ["老人", "年度", "时间", "类型", "金额（元）", "余额（元）", "服务记录", "说明"]

    def rows():
        balance = Decimal("0.00")
        for x in led.entries:
            balance += x.amount
            yield (
                e.person.name,
                e.year,
                x.at,
                KIND_LABELS.get(x.kind.value, x.kind.value),
                x.amount,
                balance,
                x.visit_id,
                x.note,
            )

    return export_response(f"ledger-{e.id}-{e.year}", headers, rows())
