"""Home-care pages: the dashboard, the year in charts with the figures of each as a table
under it (homecare/dashboard.py computes them, as for the API's /figures)."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.exports import wants_export
from eldercare.timeutil import local_today

from . import dashboard, exports
from .claims.labels import OUTCOME_LABELS
from .views import OFFICE, bp


@bp.get("/homecare/dashboard")
@role_required(*OFFICE)
def dashboard_page():
    """The year in charts, each with its figures as a table under it (what a screen reader
    and the tests read); the charts' data and labels come from here, the catalogue's."""
    year = request.args.get("year", "")
    year_n = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else local_today().year
    figs = dashboard.dashboard_figures(current_user, year_n)
    outcome_labels = {k: str(v) for k, v in OUTCOME_LABELS.items()} | {"pending": _("待回访")}
    unknown = _("未填写乡镇")
    provs, towns, months = figs["providers"], figs["townships"], figs["months"]
    allocated, used = _("已下拨补贴（元）"), _("已使用补贴（元）")
    charts = {  # money as "123.45" strings: the script draws them as numbers
        "providers": {
            "labels": [r["provider"] for r in provs],
            "series": [
                {"label": allocated, "data": [str(r["allocated"]) for r in provs]},
                {"label": used, "data": [str(r["used"]) for r in provs]},
            ],
        },
        "townships": {
            "labels": [r["township"] or unknown for r in towns],
            "series": [{"label": used, "data": [str(r["used"]) for r in towns]}],
        },
        "months": {
            "labels": [r["month"] for r in months],
            "series": [
                {"label": _("服务次数"), "data": [r["visits"] for r in months]},
                # a few against thousands: on its own axis, or the bars would not show
                {
                    "label": _("异常服务次数"),
                    "data": [r["flagged"] for r in months],
                    "axis": "y1",
                    "colour": "#dc3545",
                },
            ],
        },
        "callbacks": {
            "labels": [outcome_labels[k] for k in dashboard.OUTCOMES],
            "series": [
                {"label": _("回访次数"), "data": [figs["callbacks"][k] for k in dashboard.OUTCOMES]}
            ],
        },
    }
    if wants_export():
        return exports.dashboard(figs, year_n, outcome_labels, dashboard.OUTCOMES, unknown)
    return render_template(
        "homecare/dashboard.html",
        year=year_n,
        figs=figs,
        charts=charts,
        outcome_labels=outcome_labels,
        unknown=unknown,
        outcomes=dashboard.OUTCOMES,
    )
