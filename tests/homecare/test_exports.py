"""Home-care exports (issue 17.10): the dashboard's figures and an elder's ledger, as
the viewer may see them."""

from __future__ import annotations

import csv
import io

from tests import factories as f

from .conftest import elder, enrol, make_provider


def _rows(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.status_code
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_the_dashboard_exports_its_tables(client, world):
    f.login(client, f.user("admin"))
    assert "format=xlsx" in client.get("/homecare/dashboard").text
    rows = _rows(client.get("/homecare/dashboard?format=csv"))
    assert rows[0] == ["分组", "项目", "指标", "数值"]
    assert ["服务组织", world.provider.name, "已下拨（元）", "300.00"] in rows
    assert any(r[0] == "月份" and r[2] == "服务次数" for r in rows)
    assert any(r[0] == "电话回访" for r in rows)
    assert client.get("/homecare/dashboard?format=xlsx").data[:2] == b"PK"


def test_a_provider_exports_only_its_own_dashboard(client, world):
    f.login(client, world.boss)
    names = {
        r[1] for r in _rows(client.get("/homecare/dashboard?format=csv")) if r[0] == "服务组织"
    }
    assert names == {world.provider.name}


def test_a_ledger_exports_its_entries_with_the_balance(client, world):
    f.login(client, world.boss)
    url = f"/homecare/enrolments/{world.enrolment.id}"
    assert "format=csv" in client.get(url).text
    rows = _rows(client.get(url + "?format=csv"))
    assert rows[0][:6] == ["老人", "年度", "时间", "类型", "金额（元）", "余额（元）"]
    assert rows[1][3:6] == ["补贴入账", "300.00", "300.00"]
    assert client.get(url + "?format=xlsx").data[:2] == b"PK"


def test_another_providers_ledger_is_not_exported(client, world):
    stranger = make_provider("其他服务中心", ("510704003",))
    theirs = enrol(elder("李秀英", "510704003"), stranger)
    f.login(client, world.boss)
    assert client.get(f"/homecare/enrolments/{theirs.id}?format=csv").status_code == 404
