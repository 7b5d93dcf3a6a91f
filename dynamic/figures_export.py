"""The export of /comparisons/figures (issue 17.10): the page's figures one row each —
group, item, measure, value — for the period asked (eldercare.exports)."""

from __future__ import annotations

from decimal import Decimal

from flask import Response

from eldercare.exports import export_response

DEATH_MEASURES = (
    ("deaths", "死亡人数"),
    ("avg_days", "平均天数"),
    ("median_days", "中位天数"),
    ("max_days", "最长天数"),
    ("over_30_days", "超过30天"),
    ("avg_days_to_list", "名单送达平均天数"),
)
ENTRANT_MEASURES = (
    ("found", "发现"),
    ("accepted", "已采纳"),
    ("dismissed", "不采纳"),
    ("pending", "待决定"),
    ("avg_days_to_decision", "从名单到决定（平均天数）"),
)
SOURCES = {"disability": "残疾人证名单", "dibao": "低保名单", "age": "年满60、80周岁名单"}


def figures_export(f: dict) -> Response:
    d, a = f["deaths"], f["avoided"]

    def rows():
        for key, label in DEATH_MEASURES:
            yield "死亡登记（合计）", "", label, d.get(key)
        for group, items, name in (
            ("按信息来源", d["by_source"], "source"),
            ("按乡镇（街道）", d["by_township"], "township"),
        ):
            for r in items:
                for key, label in DEATH_MEASURES:
                    yield group, r[name], label, r.get(key)
        yield "比对成效", "", "避免多发的特困供养金（元）", Decimal(a["tekun_payments"])
        yield "比对成效", "", "提前腾出的床日", a["bed_days"]
        for x in a.get("features") or []:
            yield "各业务模块估算", x["label"], "补贴（元）", Decimal(x["subsidy"])
        for r in f["entrants"]["by_source"]:
            for key, label in ENTRANT_MEASURES:
                yield "应保尽保", SOURCES.get(r["source"], r["source"]), label, r.get(key)

    return export_response(
        f"comparison-figures-{f['since']}-{f['until']}", ["分组", "项目", "指标", "数值"], rows()
    )
