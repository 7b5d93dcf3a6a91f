"""The patterns page and API for the bureau (admin, auditor): workers and providers of a
month ranked by impossible trips, cards scanned at one spot, back-dated and no-location
scans (homecare/patterns.py); each number opens the visits behind it."""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field

from eldercare.apikit import Query, endpoint
from eldercare.auth.web import role_required
from eldercare.exports import export_response, wants_export
from eldercare.models import Role
from eldercare.timeutil import Month

from . import patterns

bp = Blueprint("homecare_patterns", __name__)
api_bp = Blueprint("homecare_patterns_api", __name__, url_prefix="/api/v1/homecare")
BUREAU = (Role.ADMIN, Role.AUDITOR)
MONTH = r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$"
SHOWN_WORKERS = 50

#: column headings; the visits list explains each code in a sentence
LABELS = {
    "impossible_travel": _l("不可能行程"),
    "same_place": _l("同地多卡"),
    "late_upload": _l("超 72 小时补传"),
    "no_location": _l("无定位"),
}


def last_month() -> str:
    return Month.current().previous().text


class MonthQuery(Query):
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM; default last month")


class CodeFigures(BaseModel):
    count: int
    share: str | None = Field(description="count ÷ visits, three decimals; null without visits")


class PatternRow(BaseModel):
    worker_id: int | None = None
    worker: str | None = None
    provider_id: int
    provider: str
    visits: int
    impossible_travel: CodeFigures
    same_place: CodeFigures
    late_upload: CodeFigures
    no_location: CodeFigures


class PatternsOut(BaseModel):
    month: str
    workers: list[PatternRow]
    providers: list[PatternRow]


@endpoint(
    api_bp,
    "/patterns",
    roles=BUREAU,
    query=MonthQuery,
    response=PatternsOut,
    summary="Patterns across visits of a month, per worker and per provider, the "
    "most flagged first: visits, and each code's count and share",
)
def patterns_api(query: MonthQuery):
    return patterns.as_json(patterns.figures(query.month or last_month()))


def _visits_link(row: dict, code: str, month: str) -> str:
    who = (
        {"worker_id": row["worker_id"]}
        if row.get("worker_id")
        else {"provider_id": row["provider_id"]}
    )
    return url_for("homecare.visits", exception=code, month=month, **who)


@bp.get("/homecare/patterns")
@role_required(*BUREAU)
def patterns_page():
    month = request.args.get("month", "")
    month = month if re.fullmatch(MONTH, month) else last_month()
    figs = patterns.figures(month)
    labels = {c: str(LABELS[c]) for c in patterns.CODES}
    if wants_export():
        return _export(figs, labels)
    top = [r for r in figs["workers"] if r["flagged"]][:10]
    chart = {
        "labels": [f"{r['worker']}（{r['provider']}）" for r in top],
        "series": [
            {"label": labels[c], "data": [r["counts"][c] for r in top]} for c in patterns.CODES
        ],
    }
    return render_template(
        "homecare/patterns.html",
        month=month,
        figs=figs,
        labels=labels,
        chart=chart,
        shown=figs["workers"][:SHOWN_WORKERS],
        link=_visits_link,
        share=patterns.share,
    )


def _export(figs: dict, labels: dict):
    kind = {"provider": _("服务组织"), "worker": _("服务人员")}
    head = [_("月份"), _("类别"), _("服务组织"), _("服务人员"), _("服务次数")]
    for c in patterns.CODES:
        head += [labels[c], _("%(label)s占比", label=labels[c])]

    def rows():
        for level, items in (("provider", figs["providers"]), ("worker", figs["workers"])):
            for r in items:
                yield [
                    figs["month"],
                    kind[level],
                    r["provider"],
                    r.get("worker") or "",
                    r["visits"],
                    *(
                        v
                        for c in patterns.CODES
                        for v in (r["counts"][c], patterns.share(r["counts"][c], r["visits"]))
                    ),
                ]

    return export_response(f"patterns-{figs['month']}", head, rows())
