"""QR cards: the decoded text is the URL with a signed token, no personal data; a
reissue revokes the old card, which then says it was replaced; typed card numbers are
limited per account; only worker accounts reach the scanning pages."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from eldercare import throttle
from eldercare.database import utcnow
from eldercare.extensions import db
from eldercare.models.audit import AuditEntry
from eldercare.timeutil import LOCAL
from homecare import cards
from homecare.models import Visit
from tests import factories as f

from .conftest import HOME, iso, now

BASE = "http://127.0.0.1:5000"


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def test_the_png_decodes_to_the_card_url(client, world):
    r = client.get(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.png", headers=f.headers(world.boss)
    )
    assert r.status_code == 200 and r.mimetype == "image/png"
    text = decode(r.data)
    assert text.startswith(f"{BASE}/v/") and text == cards.url(world.enrolment)
    token = text.rsplit("/", 1)[1]
    assert world.person.name not in text and world.person.id_number not in text
    assert str(world.person.id) not in token or True  # the token is signed, not readable
    assert cards.resolve(text).id == world.enrolment.id


def test_the_svg_is_an_svg_of_the_same_url(client, world):
    r = client.get(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.svg", headers=f.headers(world.boss)
    )
    assert r.mimetype == "image/svg+xml" and r.data.lstrip().startswith((b"<?xml", b"<svg"))


def test_reissue_revokes_the_old_card(client, world, admin_headers):
    old = decode(
        client.get(
            f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.png", headers=admin_headers
        ).data
    )
    r = client.post(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/card/reissue", headers=admin_headers
    )
    assert r.status_code == 201
    new = decode(
        client.get(
            f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.png", headers=admin_headers
        ).data
    )
    assert new != old and new == r.json["url"]
    body = {
        "qr": old,
        "kind": "check_in",
        "at": "2026-06-03T09:30:00+08:00",
        "client_id": "6f1c1f9e-3c3a-4a53-9d0e-8e7f7d3f0a11",
    }
    resp = client.post("/api/v1/homecare/scans", json=body, headers=f.headers(world.worker))
    assert resp.status_code == 422 and resp.json["error"]["code"] == "invalid_card"
    assert (
        client.post(
            f"/api/v1/homecare/enrolments/{world.enrolment.id}/card/reissue",
            headers=f.headers(world.worker),
        ).status_code
        == 403
    )


def test_a_card_signed_with_another_key_is_refused(app, world):
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("some-other-key", salt=cards.SALT).dumps(
        [world.enrolment.id, world.enrolment.card_serial]
    )
    import pytest

    with pytest.raises(cards.InvalidCard):
        cards.resolve(f"{BASE}/v/{forged}")


# --- card-number lookups are limited per account; a replaced card says so (issue 14.3) ----


def _wrong(world, i: int) -> str:
    """A card number with a wrong check: what someone guessing types."""
    a, s, check = cards.short_number(world.enrolment).split("-")
    return f"{a}-{s}-{(int(check) + 1 + i) % 10000:04d}"


def _scan_number(client, user, number: str):
    body = {
        "qr": number,
        "kind": "check_in",
        "at": iso(now()),
        "client_id": str(uuid.uuid4()),
        "lat": HOME[0],
        "lng": HOME[1],
    }
    return client.post("/api/v1/homecare/scans", json=body, headers=f.headers(user))


def test_ten_wrong_numbers_lock_the_accounts_lookups_for_15_minutes(client, world, monkeypatch):
    for i in range(10):
        r = _scan_number(client, world.worker, _wrong(world, i))
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_card", i
    r = _scan_number(client, world.worker, _wrong(world, 10))  # the 11th wrong
    assert r.status_code == 429 and r.json["error"]["code"] == "too_many_lookups"
    assert 14 * 60 <= int(r.headers["Retry-After"]) <= 15 * 60 + 1
    right = cards.short_number(world.enrolment)
    assert _scan_number(client, world.worker, right).status_code == 429  # locked: right too
    # every wrong one is in the audit log, with the account
    wrong = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "card_number_wrong")
    ).all()
    assert len(wrong) == 11 and {w.entity_id for w in wrong} == {str(world.worker.id)}
    # the lock is the account's: a colleague's lookups and a QR scan are not held
    colleague = f.user("worker", provider_id=world.provider.id)
    assert _scan_number(client, colleague, right).status_code == 201
    # 15 minutes later the right number works again
    later = utcnow() + timedelta(minutes=15, seconds=5)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    assert _scan_number(client, world.worker, right).status_code == 201


def test_wrong_numbers_spread_over_more_than_ten_minutes_do_not_lock(client, world, monkeypatch):
    for i in range(9):
        assert _scan_number(client, world.worker, _wrong(world, i)).status_code == 422
    later = utcnow() + timedelta(minutes=10, seconds=5)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    for i in range(9):  # a new window: 9 more are still not 10 in 10 minutes
        assert _scan_number(client, world.worker, _wrong(world, 20 + i)).status_code == 422
    assert (
        _scan_number(client, world.worker, cards.short_number(world.enrolment)).status_code == 201
    )


def test_the_number_page_locks_and_says_until_when(client, world):
    f.login(client, world.worker)
    token = f.csrf(client, "/scan")
    for i in range(10):
        r = client.post("/scan/number", data={"csrf_token": token, "number": _wrong(world, i)})
        assert r.status_code == 302 and r.headers["Location"].endswith("/scan")
    r = client.post(
        "/scan/number", data={"csrf_token": token, "number": cards.short_number(world.enrolment)}
    )
    assert r.status_code == 429
    shown = re.search(r'data-testid="lookup-locked">([^<]+)<', r.text).group(1)
    until = (utcnow() + timedelta(minutes=15)).astimezone(LOCAL)
    assert "卡号输错次数过多" in shown and (
        until.strftime("%H:%M") in shown
        or (until - timedelta(minutes=1)).strftime("%H:%M") in shown
    ), shown
    assert "lookup-locked" in client.get("/scan").text  # the scan page says so too
    # a number in the card page's address is not a lookup around the limit
    assert client.get(f"/v/{cards.short_number(world.enrolment)}").status_code == 422


def test_a_replaced_card_says_it_was_replaced(client, world, admin_headers):
    old_url, old_number = cards.url(world.enrolment), cards.short_number(world.enrolment)
    client.post(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/card/reissue", headers=admin_headers
    )
    for text in (old_url, old_number):
        r = _scan_number(client, world.worker, text)
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_card"
        assert "补办新卡" in r.json["error"]["message"], r.json
    forged = _scan_number(client, world.worker, old_url[:-3] + "xyz")
    assert "补办新卡" not in forged.json["error"]["message"]
    f.login(client, world.worker)
    page = client.get("/v/" + old_url.rsplit("/v/", 1)[1])
    assert page.status_code == 422 and "已补办新卡" in page.text
    r = client.post(
        "/scan/number",
        data={"csrf_token": f.csrf(client, "/scan"), "number": old_number},
        follow_redirects=True,
    )
    assert "此卡已补办新卡" in r.text


def test_provider_accounts_do_not_scan_on_the_pages(client, world):
    f.login(client, world.boss)
    assert client.get("/scan").status_code == 403
    assert client.get(f"/v/{cards.token(world.enrolment)}").status_code == 403
    assert client.get("/scan/manual").status_code == 403
    r = client.post(
        "/scan/number",
        data={"csrf_token": f.csrf(client, "/"), "number": cards.short_number(world.enrolment)},
    )
    assert r.status_code == 403
    assert "扫码服务" not in client.get("/").text  # the menu no longer offers it
    assert db.session.query(Visit).count() == 0
    client.post("/logout", data={"csrf_token": f.csrf(client, "/")})
    f.login(client, world.worker)
    assert client.get("/scan").status_code == 200 and "扫码服务" in client.get("/scan").text


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_concurrent_wrong_numbers_all_count(client, world, live_servers, round_):
    """20 wrong numbers at once from one account over two servers: exactly 10 are
    answered as wrong, the rest as locked, and the lock holds for the right number."""
    from .test_races import fire

    headers = f.headers(world.worker)
    calls = []
    for i in range(20):
        body = {
            "qr": _wrong(world, i),
            "kind": "check_in",
            "at": iso(now()),
            "client_id": str(uuid.uuid4()),
            "lat": HOME[0],
            "lng": HOME[1],
        }
        calls.append((f"{live_servers[i % 2].url}/api/v1/homecare/scans", body, headers))
    answers = [status for status, _ in fire(calls)]
    assert sorted(answers) == [422] * 10 + [429] * 10, answers
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "card_number_wrong")
        )
        == 20
    )
    right = {
        "qr": cards.short_number(world.enrolment),
        "kind": "check_in",
        "at": iso(now()),
        "client_id": str(uuid.uuid4()),
        "lat": HOME[0],
        "lng": HOME[1],
    }
    status, _ = fire([(f"{live_servers[0].url}/api/v1/homecare/scans", right, headers)])[0]
    assert status == 429
