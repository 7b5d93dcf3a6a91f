"""Accessibility (issue 17.12): axe-core, injected by Playwright from the test's own copy
(tests/browser/axe/, no CDN), runs the WCAG 2.1 A and AA rules on every page type as each
role that uses it; no serious or critical violation may be left. The worker's phone pages
and the pages elders read (the year statement, /public, /public/notices) are checked again
at 200% zoom, where nothing may need scrolling sideways either."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from eldercare.extensions import db
from eldercare.timeutil import local_today
from tests import factories as f

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "axe" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def district(app, client):
    """A small district with one of every record a page shows."""
    from dynamic import wubao
    from eldercare.people import services as people
    from facilities import services as fs
    from homecare import cards
    from homecare import services as hs
    from tests.dynamic.helpers import csv_bytes
    from tests.dynamic.helpers import upload as upload_list
    from tests.homecare.claims.conftest import at, line, month_text, upload
    from tests.homecare.conftest import elder, enrol

    home = fs.create_facility("魏城镇敬老院", "care_home", "510704104",
                              opened_on=local_today() - timedelta(days=3650))
    beds = [fs.add_bed(home, f"0{i}", "nursing" if i == 1 else "ordinary", room="R1",
                       room_sex="mixed", created_on=local_today() - timedelta(days=3650))
            for i in (1, 2, 3)]
    centre = fs.create_facility("魏城镇日间照料中心", "day_care", "510704104",
                                opened_on=local_today() - timedelta(days=3650))
    provider = hs.create_provider("游仙区康乐居家养老服务中心", ["510704001"],
                                  local_today().replace(month=1, day=1),
                                  local_today().replace(month=12, day=31))
    db.session.commit()
    users = {"admin": f.user("admin", username="clerk"),
             "auditor": f.user("auditor", username="shenji"),
             "manager": f.user("manager", facility_id=home.id, username="mgr"),
             "provider": f.user("provider", provider_id=provider.id, username="kangle"),
             "worker": f.user("worker", provider_id=provider.id, username="kangle_w1")}
    resident = f.person("王德福")
    people.start_wubao(resident, "elderly", "centralized", local_today() - timedelta(days=400))
    stay = fs.admit(resident, beds[0], local_today() - timedelta(days=30), users["manager"])
    applicant = f.person("赵长顺")
    people.start_wubao(applicant, "elderly", "dispersed", local_today() - timedelta(days=400),
                       applied_centralized_on=local_today() - timedelta(days=9))
    leaver = f.person("钱玉兰", sex="F", township_code="510704101")
    people.start_wubao(leaver, "elderly", "dispersed", local_today() - timedelta(days=400))
    db.session.commit()
    wubao.terminate(leaver, "voluntary", local_today() - timedelta(days=1))
    a = elder("李秀英")
    e = enrol(a, provider)
    from homecare import visits as hv

    v = hv.check_in(users["worker"], e, at(3, 9))
    from decimal import Decimal

    hv.check_out(v, at(3, 10), [("clean", Decimal("1"))])
    db.session.commit()
    claim = upload(client, users["provider"], provider.id, [line(1, v)]).json["id"]
    client.post(f"/api/v1/homecare/claims/{claim}/reconcile", headers=f.headers(users["admin"]))
    comparison = upload_list(client, f.headers(users["admin"]), "death",
                             csv_bytes([[resident.id_number, "王德福",
                                         (local_today() - timedelta(days=2)).isoformat()]]))
    db.session.commit()
    return {"users": users, "home": home.id, "bed": beds[1].id, "centre": centre.id,
            "person": resident.id, "leaver": leaver.id, "enrolment": e.id, "claim": claim,
            "visit": v.id, "comparison": comparison.json["id"], "month": month_text(),
            "card": cards.url(e).split("/v/", 1)[1], "stay": stay.id}


def _pages(d: dict) -> dict[str, list[str]]:
    fac, bed, e, c = d["home"], d["bed"], d["enrolment"], d["claim"]
    office = ("/", "/password")
    return {
        "admin": [*office,
            "/overview", "/people", f"/people/{d['person']}", f"/people/{d['person']}/edit",
            "/people/new", "/people/import", "/facilities", f"/facilities/{fac}",
            f"/facilities/{fac}/beds/{bed}", "/placements", "/facilities/occupancy",
            "/facilities/transfers", f"/facilities/{d['centre']}/attendance",
            "/homecare/enrolments", f"/homecare/enrolments/{e}", "/homecare/visits",
            "/homecare/dashboard", "/homecare/claims", f"/homecare/claims/{c}",
            f"/homecare/claims/visits/{d['visit']}", "/homecare/callbacks",
            "/homecare/scorecards", "/homecare/patterns", "/homecare/cards",
            f"/homecare/enrolments/{e}/year-statement", "/comparisons",
            f"/comparisons/{d['comparison']}", "/comparisons/figures", "/reviews",
            f"/reviews/{d['leaver']}", "/notices", "/users", "/jobs", "/audit"],
        "auditor": [*office, "/people", f"/facilities/{fac}", "/homecare/claims",
                             f"/homecare/claims/{c}", "/audit"],
        "manager": [*office, f"/facilities/{fac}", f"/facilities/{fac}/beds/{bed}",
                             "/facilities/transfers", "/overview"],
        "provider": [*office, "/homecare/enrolments", f"/homecare/enrolments/{e}",
                              "/homecare/visits", "/homecare/workers", "/homecare/claims",
                              f"/homecare/claims/{c}", "/homecare/scorecards",
                              "/homecare/dashboard", f"/homecare/enrolments/{e}/year-statement"],
        "worker": ["/scan", f"/v/{d['card']}", "/scan/manual", "/password"],
        None: ["/login", "/public", "/public/notices"],
    }


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


def _violations(page, path: str) -> list[str]:
    found = page.evaluate("opts => axe.run(document, opts)", RULES)["violations"]
    return [f"{path}: {v['id']} ({v['impact']}) {v['help']} — "
            + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                        for n in v["nodes"][:4])
            for v in found if v["impact"] in ("serious", "critical")]


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


@pytest.mark.parametrize("role", ["admin", "auditor", "manager", "provider", "worker", None])
def test_no_serious_or_critical_violation_on_any_page(app, live_servers, page_for, district,
                                                      role):
    base = live_servers[0].url
    phone = role == "worker"
    page = _open(page_for, 390 if phone else 1280, 844 if phone else 900)
    if role:
        _login(page, base, district["users"][role].username)
    problems = _check(page, base, _pages(district)[role])
    assert problems == [], "\n".join(problems)


def test_the_worker_and_the_elders_pages_at_200_percent(app, live_servers, page_for, district):
    base = live_servers[0].url
    problems = []
    for role, width, height, paths in (
            ("worker", 390, 844, ["/scan", f"/v/{district['card']}", "/scan/manual"]),
            ("provider", 1280, 900, [f"/homecare/enrolments/{district['enrolment']}"
                                     "/year-statement"]),
            (None, 1280, 900, ["/public", "/public/notices"]),
            (None, 390, 844, ["/public", "/public/notices"])):
        page = _open(page_for, width, height, zoom=2)
        if role:
            _login(page, base, district["users"][role].username)
        problems += _check(page, base, paths, reflow=True)
    assert problems == [], "\n".join(problems)


def test_the_check_finds_what_it_is_for(page_for):
    """The harness itself: an unlabelled field and grey-on-white text are caught."""
    page = page_for(800, 600)
    page.context.add_init_script(script=AXE)
    page.goto("about:blank")
    page.set_content('<html lang="zh-CN"><head><title>t</title></head><body><main>'
                     '<input type="text"><p style="color:#ccc">浅色文字</p></main></body></html>')
    found = " ".join(_violations(page, "x"))
    assert "label" in found and "color-contrast" in found
