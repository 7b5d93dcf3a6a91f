"""A worker logs a visit from a phone-sized window: the card's URL, log in, 开始服务,
pick the services, 结束服务 — with the real JavaScript against a real server; and the
same with the network cut, the scans queued on the phone and sent once it returns; a
phone that gives no position asks the worker why; a weekend without signal is on time."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eldercare.extensions import db
from homecare import cards
from homecare.models import Enrolment, EntryKind, LedgerEntry, Scan, Visit
from tests import factories as f
from tests.conftest import ARTIFACTS

from .conftest import HOME

pytestmark = pytest.mark.browser


def _phone(page_for, **options):
    """A phone-sized page whose browser may read the position: at the elder's home."""
    return page_for(
        390,
        844,
        permissions=["geolocation"],
        geolocation={"latitude": HOME[0], "longitude": HOME[1]},
        **options,
    )


def _watch(page) -> list[str]:
    """Console errors (a CSP violation is one) and uncaught exceptions, while in use."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _open_card(page, url: str, username: str) -> None:
    """The worker opens the card's URL, lands on the login page, logs in, and is back
    on the card page."""
    page.goto(url)
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=elder-name]")


def test_a_worker_checks_in_and_out_from_the_card_url(app, world, live_servers, page_for):
    url = f"{live_servers[0].url}/v/{cards.token(world.enrolment)}"
    username = world.worker.username
    # End the test's transaction and touch no model until the end: on SQLite it would
    # hold the write lock that the server needs.
    db.session.commit()
    page = _phone(page_for)
    errors = _watch(page)
    _open_card(page, url, username)
    assert "李秀英" in page.inner_text("[data-testid=elder-name]")
    assert page.inner_text("[data-testid=balance]").strip() == "¥300.00"
    page.click("[data-testid=check-in]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-out]:visible")
    page.fill("#qty_care", "1")
    page.click("[data-testid=check-out]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-in]:visible")
    assert page.inner_text("[data-testid=balance]").strip() == "¥250.00"
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert v.status.value == "flagged"  # a minute on site for an hour of care
    assert v.exceptions == ["too_short", "quantity_exceeds_time"]
    assert str(v.subsidised) == "50.00"
    db.session.commit()
    assert not errors, errors


def test_scans_made_offline_are_queued_and_arrive_once_when_the_network_returns(
    app, world, live_servers, page_for
):
    url = f"{live_servers[0].url}/v/{cards.token(world.enrolment)}"
    username, enrolment_id = world.worker.username, world.enrolment.id
    db.session.commit()
    page = _phone(page_for)
    errors = _watch(page)
    _open_card(page, url, username)
    banner = page.locator("[data-offline-banner]")
    assert banner.is_hidden()
    answers: list[int] = []
    page.on(
        "response",
        lambda r: answers.append(r.status) if r.url.endswith("/api/v1/homecare/scans") else None,
    )

    assert not errors, errors
    page.context.set_offline(True)  # the lift, the cellar, the village without signal
    page.click("[data-testid=check-in]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-out]:visible")
    assert "待联网后上传" in page.inner_text("[data-scan-message]")
    page.fill("#qty_care", "1")
    page.click("[data-testid=check-out]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-in]:visible")
    assert "已记下服务，待联网后上传" in page.inner_text("[data-scan-message]")
    assert banner.get_attribute("data-pending") == "2"
    shown = banner.inner_text()
    assert "手机没有网络" in shown and "有 2 条扫码记录等待上传" in shown
    assert page.inner_text("[data-testid=balance]").strip() == "¥300.00"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "worker-offline-two-scans-queued.png"), full_page=True)
    assert db.session.query(Visit).count() == 0  # nothing reached the server
    db.session.commit()

    # Offline, the browser logs each failed request (and the service worker's update
    # check) as an error: those and only those.
    offline_errors, errors[:] = list(errors), []
    assert offline_errors and all(
        "ERR_INTERNET_DISCONNECTED" in e or "error occurred when fetching the script" in e
        for e in offline_errors
    ), offline_errors
    page.context.set_offline(False)
    # sent by themselves, oldest first; the page then shows the server's answer
    expect(page.locator("[data-testid=balance]")).to_have_text("¥250.00")
    expect(banner).to_have_attribute("data-pending", "0")  # set once the reloaded page looked
    assert banner.is_hidden()
    assert answers == [201, 201]  # each scan sent once: no replay, no double send
    assert page.locator("[data-testid=check-in]").is_visible()
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert v.check_in_at is not None and v.check_out_at is not None
    assert v.check_out_at >= v.check_in_at and str(v.subsidised) == "50.00"
    assert [s.kind.value for s in db.session.query(Scan).order_by(Scan.id)] == [
        "check_in",
        "check_out",
    ]
    debits = (
        db.session.query(LedgerEntry)
        .filter_by(enrolment_id=enrolment_id, kind=EntryKind.VISIT_DEBIT)
        .all()
    )
    assert [str(d.amount) for d in debits] == ["-50.00"]
    assert str(db.session.get(Enrolment, enrolment_id).balance) == "250.00"
    db.session.commit()
    assert not errors, errors


def test_weak_signal_a_check_out_sends_the_waiting_check_in_first(
    app, world, live_servers, page_for
):
    """The phone says it is online but the check-in's request fails (weak signal): it
    waits on the phone. The check-out, once a request gets through, takes it along, oldest
    first, and the page shows the finished visit at once."""
    url = f"{live_servers[0].url}/v/{cards.token(world.enrolment)}"
    username = world.worker.username
    db.session.commit()
    # Requests that pass through a service worker escape Playwright's routes: without one.
    page = _phone(page_for, service_workers="block")
    errors = _watch(page)
    _open_card(page, url, username)
    scans = "**/api/v1/homecare/scans"
    page.context.route(scans, lambda route: route.abort("connectionreset"))
    page.click("[data-testid=check-in]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-out]:visible")
    banner = page.locator("[data-offline-banner]")
    assert banner.get_attribute("data-pending") == "1"
    assert "有 1 条扫码记录等待上传" in banner.inner_text()
    page.context.unroute(scans)
    page.fill("#qty_care", "1")
    page.click("[data-testid=check-out]")
    expect(page.locator("[data-testid=balance]")).to_have_text("¥250.00")
    assert page.locator("[data-testid=check-in]").is_visible()
    assert banner.is_hidden()
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert v.check_out_at is not None and str(v.subsidised) == "50.00"
    db.session.commit()
    assert [e for e in errors if "ERR_CONNECTION_RESET" not in e] == []


def test_a_shared_phone_sends_each_workers_queued_scans_under_their_own_login(
    app, world, live_servers, page_for
):
    """Worker 1's check-in waits on the phone (weak signal); worker 2 logs in on the same
    phone: the scan is not sent under worker 2's login, the banner says whose it is; when
    worker 1 is back, it goes, as worker 1's visit."""
    base = live_servers[0].url
    url = f"{base}/v/{cards.token(world.enrolment)}"
    second = f.user("worker", provider_id=world.provider.id, username="kangle_w2")
    first_id, first_name = world.worker.id, world.worker.username
    second_name = second.username
    db.session.commit()
    page = _phone(page_for, service_workers="block")

    def log_in(name):
        page.goto(url)
        if "/login" not in page.url:  # someone is still logged in on the phone: 退出
            token = page.get_attribute("meta[name=csrf-token]", "content")
            page.request.post(f"{base}/logout", form={"csrf_token": token})
        _open_card(page, url, name)

    log_in(first_name)
    scans = "**/api/v1/homecare/scans"
    page.context.route(scans, lambda route: route.abort("connectionreset"))
    page.click("[data-testid=check-in]")
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_have_attribute("data-pending", "1")

    log_in(second_name)  # still no signal while worker 1 hands the phone over
    page.context.unroute(scans)
    expect(banner).to_have_attribute("data-others", "1")
    assert banner.get_attribute("data-pending") == "0"
    assert "其他服务人员的扫码记录" in banner.inner_text()
    page.evaluate("window.ecScanQueue.flush()")  # as the 30-second timer would
    expect(banner).to_have_attribute("data-others", "1")
    db.session.expire_all()
    assert db.session.query(Visit).count() == 0  # nothing sent under worker 2's login
    db.session.commit()

    log_in(first_name)
    expect(banner).to_have_attribute("data-pending", "0")
    expect(banner).to_have_attribute("data-others", "0")
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert v.worker_id == first_id and v.check_in_at is not None
    db.session.commit()


def test_a_phone_without_location_asks_the_worker_why(app, world, live_servers, page_for):
    """Location refused on the phone: 开始服务 asks for the reason before anything is
    sent; cancelling sends nothing; the reason picked goes with the scan, and the visits
    page shows the flag with it."""
    url = f"{live_servers[0].url}/v/{cards.token(world.enrolment)}"
    username, boss = world.worker.username, world.boss.username
    db.session.commit()
    page = page_for(390, 844)  # no geolocation permission: the phone refuses
    errors = _watch(page)
    _open_card(page, url, username)
    ask = page.locator("[data-no-location]")
    assert ask.is_hidden()
    page.click("[data-testid=check-in]")
    expect(ask).to_be_visible()
    # the likeliest reason first: the phone said the permission was refused
    expect(page.locator("[data-reason=denied]")).to_have_class(re.compile("btn-warning"))
    page.click("[data-reason-cancel]")
    expect(ask).to_be_hidden()
    db.session.expire_all()
    assert db.session.query(Visit).count() == 0  # cancelled: nothing sent
    db.session.commit()
    page.click("[data-testid=check-in]")
    expect(ask).to_be_visible()
    page.click("[data-reason=denied]")
    # the page reloads with the visit open; its script is in charge once it marks ready
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-out]:visible")
    page.fill("#qty_care", "1")
    page.click("[data-testid=check-out]")
    expect(ask).to_be_visible()  # asked again at the check-out: still no position
    page.click("[data-reason=no_signal]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-in]:visible")
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert "no_location" in v.exceptions and v.no_location_reason == "denied"
    assert v.lat is None and v.check_out_at is not None
    db.session.commit()
    page.request.post(
        f"{live_servers[0].url}/logout",
        form={"csrf_token": page.get_attribute("meta[name=csrf-token]", "content")},
    )
    page.goto(f"{live_servers[0].url}/login")
    page.fill("#username", boss)
    page.fill("#password", f.PASSWORD)
    page.click("#login-submit")
    page.goto(f"{live_servers[0].url}/homecare/visits")
    expect(page.locator("table")).to_contain_text("扫码时未定位（定位被拒绝）")
    assert not [e for e in errors if "geolocation" not in e.lower()], errors


def test_an_offline_weekend_keeps_the_scan_time_and_is_not_late(app, world, live_servers, page_for):
    """Friday evening in a village without signal: the check-in and check-out wait on
    the phone until Monday (64 hours). They go with the times they were made, at the
    elder's home: the visit is clean, not late_upload."""
    from datetime import UTC, datetime, timedelta

    url = f"{live_servers[0].url}/v/{cards.token(world.enrolment)}"
    username = world.worker.username
    db.session.commit()
    friday = datetime.now(UTC) - timedelta(hours=64)
    page = _phone(page_for)
    page.clock.install(time=friday)
    errors = _watch(page)
    _open_card(page, url, username)
    page.context.set_offline(True)
    page.click("[data-testid=check-in]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-out]:visible")
    page.clock.fast_forward("01:05:00")  # an hour of care
    page.fill("#qty_care", "1")
    page.click("[data-testid=check-out]")
    page.wait_for_selector("[data-worker-screen][data-ready] [data-testid=check-in]:visible")
    expect(page.locator("[data-offline-banner]")).to_have_attribute("data-pending", "2")
    page.clock.set_system_time(datetime.now(UTC))  # Monday morning: signal again
    page.context.set_offline(False)
    expect(page.locator("[data-testid=balance]")).to_have_text("¥250.00")
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert abs((v.check_in_at - friday).total_seconds()) < 120
    assert v.exceptions == [] and v.status.value == "completed"
    assert v.lat is not None and v.no_location_reason == ""
    db.session.commit()
    assert all("ERR_INTERNET_DISCONNECTED" in e or "fetching the script" in e for e in errors), (
        errors
    )
