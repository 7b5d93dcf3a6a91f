"""Accessibility (issue 17.12): axe-core, injected by Playwright from the test's own copy
(tests/browser/axe/, no CDN), runs the WCAG 2.1 A and AA rules on every page type as each
role that uses it; no serious or critical violation may be left. The worker's phone pages
and the pages elders read (the year statement, /public, /public/notices) are checked again
at 200% zoom, where nothing may need scrolling sideways either."""

from __future__ import annotations

from pathlib import Path

import pytest

from eldercare.extensions import db
from tests import factories as f
from tests.district import build_district, pages_by_role

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "axe" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def district(app, client):
    built = build_district(client)
    names = {role: u.username for role, u in built["users"].items()}
    # end the test's own transaction: on SQLite it holds the write lock, and the servers'
    # logins (which write) answered 503 — every page then was the login form, and passed
    db.session.commit()
    return built | {"names": names}


def _open(page_for, width: int, height: int, zoom: int = 1):
    """A page whose every document gets axe (Playwright's init script: the page's CSP
    does not apply to it). Zoom 2 is the browser at 200%: half the CSS pixels across."""
    page = page_for(width // zoom, height // zoom, device_scale_factor=zoom)
    page.set_default_timeout(60000)  # forty pages on a busy machine: a slow one is no failure
    page.context.add_init_script(script=AXE)
    return page


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()
    # a login that failed leaves every page on the login form, which passes: say so
    assert "/login" not in page.url, f"{username} not logged in: {page.inner_text('body')[:200]}"


def _violations(page, path: str) -> list[str]:
    found = page.evaluate("opts => axe.run(document, opts)", RULES)["violations"]
    return [
        f"{path}: {v['id']} ({v['impact']}) {v['help']} — "
        + "; ".join(
            n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
            for n in v["nodes"][:4]
        )
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def _check(page, base: str, paths: list[str], reflow: bool = False) -> list[str]:
    problems = []
    for path in paths:
        resp = page.goto(base + path)
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        page.wait_for_load_state("networkidle")
        problems += _violations(page, path)
        if reflow:
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 1:
                problems.append(f"{path}: {wide}px wider than the window at 200%")
    return problems


@pytest.mark.parametrize(
    "role", ["admin", "auditor", "manager", "provider", "worker", "township", None]
)
def test_no_serious_or_critical_violation_on_any_page(app, live_servers, page_for, district, role):
    base = live_servers[0].url
    phone = role == "worker"
    page = _open(page_for, 390 if phone else 1280, 844 if phone else 900)
    if role:
        _login(page, base, district["names"][role])
    problems = _check(page, base, pages_by_role(district)[role])
    assert problems == [], "\n".join(problems)


def test_the_worker_and_the_elders_pages_at_200_percent(app, live_servers, page_for, district):
    base = live_servers[0].url
    problems = []
    for role, width, height, paths in (
        ("worker", 390, 844, ["/scan", f"/v/{district['card']}", "/scan/manual"]),
        ("provider", 1280, 900, [f"/homecare/enrolments/{district['enrolment']}/year-statement"]),
        (None, 1280, 900, ["/public", "/public/notices"]),
        (None, 390, 844, ["/public", "/public/notices"]),
    ):
        page = _open(page_for, width, height, zoom=2)
        if role:
            _login(page, base, district["names"][role])
        problems += _check(page, base, paths, reflow=True)
    assert problems == [], "\n".join(problems)


def test_the_check_finds_what_it_is_for(page_for):
    """The harness itself: an unlabelled field and grey-on-white text are caught."""
    page = page_for(800, 600)
    page.context.add_init_script(script=AXE)
    page.goto("about:blank")
    page.set_content(
        '<html lang="zh-CN"><head><title>t</title></head><body><main>'
        '<input type="text"><p style="color:#ccc">浅色文字</p></main></body></html>'
    )
    found = " ".join(_violations(page, "x"))
    assert "label" in found and "color-contrast" in found
