"""idempotency.once: a scan or a hand-logged visit counts once whichever entry point sent it
(the scan API, the card page without JavaScript, the manual page), also when its twin
got there between the look-up and the write."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from eldercare.errors import Conflict
from eldercare.extensions import db
from homecare import cards, idempotency
from homecare import visits as hv
from homecare.models import LedgerEntry, Scan, Visit
from tests import factories as f

from .conftest import elder, enrol, manual_form, now, scan


def _check_in(world, cid: str, at) -> tuple[hv.ScanInput, dict]:
    raw = {"qr": world.qr, "kind": "check_in", "client_id": cid, "at": at.isoformat()}
    return hv.ScanInput(qr=world.qr, kind="check_in", at=at, client_id=cid, raw=raw), raw


def test_a_new_client_id_does_the_work_and_a_repeat_answers_the_first_visit(world):
    data, raw = _check_in(world, str(uuid.uuid4()), now() - timedelta(hours=1))
    first, created = idempotency.once(
        world.worker, data.client_id, raw, lambda: hv.scan(world.worker, data)
    )
    db.session.commit()
    again, created_again = idempotency.once(
        world.worker, data.client_id, raw, lambda: pytest.fail("a repeat must not scan again")
    )
    assert (created, created_again) == (True, False) and again.id == first.id
    with pytest.raises(Conflict) as err:  # the same client_id with another body
        idempotency.once(world.worker, data.client_id, raw | {"kind": "check_out"}, lambda: None)
    assert err.value.code == "client_id_reused"


def test_a_twin_that_landed_after_the_look_up_is_answered_not_refused(world, monkeypatch):
    """The twin's Scan row is committed between once's look-up and its own write (as a
    concurrent request's is on PostgreSQL): the claim, written before anything else,
    finds UNIQUE(user_id, client_id) taken, and the twin's visit is the answer."""
    at = now() - timedelta(hours=1)
    data, raw = _check_in(world, str(uuid.uuid4()), at)
    twin = hv.scan(world.worker, data)
    db.session.commit()
    looked = []
    real_replay = idempotency.replay

    def late_replay(user, client_id, body_hash):
        looked.append(client_id)
        return None if len(looked) == 1 else real_replay(user, client_id, body_hash)

    monkeypatch.setattr(idempotency, "replay", late_replay)
    # a second elder's check-in earlier in the same transaction: it must survive
    other = hv.check_in(
        world.worker, enrol(elder("张桂兰"), world.provider), at - timedelta(hours=2)
    )
    visit, created = idempotency.once(
        world.worker, data.client_id, raw, lambda: hv.scan(world.worker, data)
    )
    db.session.commit()
    assert not created and visit.id == twin.id and len(looked) == 2
    assert db.session.get(Visit, other.id) is not None
    assert db.session.query(Scan).count() == 1 and db.session.query(Visit).count() == 2


def test_without_a_client_id_the_work_just_runs(world):
    at = now() - timedelta(hours=2)
    visit, created = idempotency.once(
        world.worker,
        None,
        {},
        lambda: hv.manual_visit(
            world.worker,
            world.enrolment,
            at,
            at + timedelta(hours=1),
            [("clean", Decimal(1))],
            "card_lost",
            "卡丢了",
        ),
    )
    assert created and visit.manual and db.session.query(Scan).count() == 0


def test_the_card_page_and_the_api_share_one_client_id_rule(client, world):
    """The same client_id sent by the page's form and then by the phone's script counts
    once: the second is answered with the first visit."""
    f.login(client, world.worker)
    path = f"/v/{cards.token(world.enrolment)}"
    page = client.get(path)
    cid = re.search(r'name="client_id" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {
        "csrf_token": csrf,
        "kind": "check_in",
        "client_id": cid,
        "no_location_reason": "no_gps",
    }
    assert client.post(path, data=form).status_code == 303
    assert client.post(path, data=form).status_code == 303
    assert db.session.query(Visit).count() == 1 and db.session.query(Scan).count() == 1


def test_the_manual_page_sent_twice_logs_one_visit_and_one_debit(client, world):
    f.login(client, world.worker)
    path, form = manual_form(client, world)
    form["note"] = "卡丢了，电话核实"
    first = client.post(path, data=form, follow_redirects=True)
    again = client.post(path, data=form, follow_redirects=True)
    assert "已补录" in first.text and "已补录" not in again.text
    assert db.session.query(Visit).count() == 1
    assert db.session.query(LedgerEntry).filter_by(kind="visit_debit").count() == 1


def test_the_manual_api_with_a_client_id_answers_a_repeat_with_200(client, world):
    start = now() - timedelta(hours=3)
    body = {
        "enrolment_id": world.enrolment.id,
        "check_in_at": start.isoformat(),
        "check_out_at": (start + timedelta(hours=1)).isoformat(),
        "services": [{"code": "clean", "quantity": 1}],
        "reason": "card_lost",
        "note": "卡丢了",
        "client_id": str(uuid.uuid4()),
    }
    h = f.headers(world.worker)
    first = client.post("/api/v1/homecare/visits/manual", json=body, headers=h)
    again = client.post("/api/v1/homecare/visits/manual", json=body, headers=h)
    assert (first.status_code, again.status_code) == (201, 200) and first.json == again.json
    assert scan(client, world.worker, world.qr).status_code == 201  # scans go on as before
