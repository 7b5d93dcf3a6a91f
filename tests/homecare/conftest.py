"""Home-care fixtures: a provider with its admin and a worker, an enrolled elder with a
home position, and helpers to scan their card."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from eldercare.extensions import db
from eldercare.timeutil import LOCAL
from homecare import cards, services
from tests import factories as f

HOME = (31.4600, 104.7900)  # a point in 游仙区


@dataclass
class World:
    provider: object
    other: object
    boss: object  # provider admin
    worker: object
    enrolment: object
    person: object

    @property
    def qr(self) -> str:
        return cards.url(self.enrolment)


def make_provider(name: str = "游仙区康乐居家养老服务中心", townships=("510704001",)):
    p = services.create_provider(name, list(townships), date(2026, 1, 1), date(2026, 12, 31))
    db.session.commit()
    return p


def enrol(person, provider, year: int | None = None):
    """Enrolled from 1 January, so that back-dated test visits fall inside it."""
    year = year or datetime.now(UTC).year
    e = services.enrol(person, provider, year, on=date(year, 1, 1))
    db.session.commit()
    return e


def elder(name: str = "王德福", township: str = "510704001"):
    p = f.person(name, township_code=township)
    p.home_lat, p.home_lng = HOME
    db.session.commit()
    return p


@pytest.fixture
def world(app) -> World:
    provider = make_provider()
    other = make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
    boss = f.user("provider", provider_id=provider.id, username="kangle")
    worker = f.user("worker", provider_id=provider.id, username="kangle_w1")
    person = elder("李秀英")
    e = enrol(person, provider)
    return World(provider, other, boss, worker, e, person)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(t: datetime) -> str:
    return t.isoformat()


def scan(client, user, qr, kind="check_in", at=None, services=None, client_id=None, **kw):
    """An honest phone's scan: at the elder's home unless `lat`/`lng` say otherwise
    (`lat=None, lng=None`: a scan without location)."""
    if "lat" not in kw and "lng" not in kw:
        kw = kw | {"lat": HOME[0], "lng": HOME[1]}
    body = {
        "qr": qr,
        "kind": kind,
        "at": iso(at or now()),
        "client_id": client_id or str(uuid.uuid4()),
    } | kw
    if services is not None:
        body["services"] = services
    return client.post("/api/v1/homecare/scans", json=body, headers=f.headers(user))


def manual_form(client, world) -> tuple[str, dict]:
    """The manual page of the world's elder (its worker logged in) and its form, filled
    as the worker would for an hour of cleaning three hours ago, but for the note."""
    path = f"/scan/manual?enrolment_id={world.enrolment.id}"
    page = client.get(path)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    cid = re.search(r'name="client_id" type="hidden" value="([^"]+)"', page.text).group(1)
    start = (now() - timedelta(hours=3)).astimezone(LOCAL).replace(tzinfo=None)
    return path, {
        "csrf_token": csrf,
        "client_id": cid,
        "enrolment_id": world.enrolment.id,
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M"),
        "qty_clean": "1",
        "reason": "card_lost",
        "note": "",
    }


def visit(client, user, qr, start: datetime, minutes: int, picked, **kw):
    """Check in at `start` and out `minutes` later; returns the check-out answer."""
    r = scan(client, user, qr, "check_in", at=start, **kw)
    assert r.status_code == 201, r.json
    return scan(
        client, user, qr, "check_out", at=start + timedelta(minutes=minutes), services=picked, **kw
    )
