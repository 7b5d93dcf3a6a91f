"""A bureau clerk in a real browser adds a provider with its contract townships and
dates, then the next year's prices and subsidy, from the pages alone (issue 17.1)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare import services
from homecare.models import Provider
from tests import factories as f

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    """Console errors (a CSP violation is one) and server failures, while in use; a form
    sent back with its errors (422) is the page working, not failing."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return errors


def _menu(page, label: str) -> None:
    """Open the home-care menu of the top bar and follow `label` (once the page's
    scripts have run: before that the menu does not open)."""
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="居家养老", exact=True).click()
    link = page.get_by_role("link", name=label, exact=True)
    link.wait_for(state="visible")
    link.click()


def test_a_clerk_adds_a_provider_and_the_years_prices(app, live_servers, page_for):
    f.user("admin", username="bureau_li", display_name="民政局 李科员")
    year = local_today().year + 1
    db.session.commit()  # and touch no model until the end (SQLite's write lock)
    base = live_servers[0].url
    page = page_for(1280, 900)
    errors = _watch(page)
    page.goto(base + "/login")
    page.fill("#username", "bureau_li")
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")

    # the menu leads to the providers; a new one with two townships and its contract
    _menu(page, "服务组织")
    page.click("[data-testid=new-provider]")
    page.fill("#name", "游仙区安康居家养老服务中心")
    page.fill("#phone", "0816-2212345")
    page.fill("#contract_from", f"{year}-01-01")
    page.fill("#contract_to", f"{year - 2}-12-31")  # a slip: before the start
    page.check("#township-510704001")
    page.check("#township-510704003")
    page.click("[data-testid=save-provider]")
    assert "早于开始日期" in page.inner_text("[data-testid=provider-form]")
    assert page.is_checked("#township-510704003")  # what was typed is kept
    page.fill("#contract_to", f"{year + 2}-12-31")
    page.click("[data-testid=save-provider]")
    page.wait_for_selector(".alert-success")
    row = page.locator("[data-testid=provider-row]", has_text="游仙区安康居家养老服务中心")
    assert "涪江街道、富乐街道" in row.inner_text()
    assert f"{year}" in row.inner_text()

    # next year's price list, item by item, and its subsidy
    _menu(page, "价目与补贴")
    page.goto(f"{base}/homecare/prices?year={year}")
    assert "还没有价目表" in page.inner_text("[data-testid=prices-table]")
    for code, name, unit, price in (
        ("JJ-01", "居家保洁", "hour", "40"),
        ("JJ-02", "助浴", "session", "50"),
        ("jj-01", "重复的代码", "hour", "1"),
    ):
        page.fill("#code", code)
        page.fill("#name", name)
        page.select_option("#unit", unit)
        page.fill("#price", price)
        page.click("[data-testid=add-price]")
    assert "已存在" in page.inner_text("[data-testid=price-form]")  # jj-01 is JJ-01
    rows = page.locator("[data-testid=price-row]")
    assert rows.count() == 2
    table = page.inner_text("[data-testid=prices-table]")
    assert "JJ-01" in table and "¥40.00" in table and "JJ-02" in table and "¥50.00" in table
    page.click("text=各年度补贴标准")
    page.fill("#year", str(year))
    page.fill("#amount", "360")
    page.click("[data-testid=subsidy-form] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "¥360.00" in page.inner_text("[data-testid=subsidy-table]")
    assert not errors, errors

    db.session.expire_all()
    p = db.session.scalar(sa.select(Provider).where(Provider.name == "游仙区安康居家养老服务中心"))
    assert p.township_codes == ["510704001", "510704003"]
    assert [s.code for s in services.catalogue(year)] == ["JJ-01", "JJ-02"]
    assert str(services.subsidy_for(year)) == "360.00"
