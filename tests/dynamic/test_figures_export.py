"""/comparisons/figures exports its figures (issue 17.10), one row per figure."""

from __future__ import annotations

import csv
import io

from tests import factories as f

from .helpers import days_ago, tekun


def test_the_figures_page_exports_what_it_shows(client, admin_headers):
    direct = tekun("张三", township="510704104")
    client.post(
        f"/api/v1/people/{direct.id}/death",
        json={"date": days_ago(5).isoformat()},
        headers=admin_headers,
    )
    f.login(client, f.user("admin"))
    page = client.get("/comparisons/figures")
    assert "format=xlsx" in page.text and "format=csv" in page.text
    r = client.get("/comparisons/figures?format=csv")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["分组", "项目", "指标", "数值"]
    assert ["死亡登记（合计）", "", "死亡人数", "1"] in rows
    assert ["按信息来源", "直接登记", "平均天数", "5"] in rows or [
        "按信息来源",
        "直接登记",
        "平均天数",
        "5.0",
    ] in rows
    x = client.get("/comparisons/figures?format=xlsx")
    assert x.status_code == 200 and x.data[:2] == b"PK"
