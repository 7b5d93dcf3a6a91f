"""POST /api/v1/homecare/scans (API.md): check-in, check-out with services, money,
idempotency, cards refused, other providers, and every exception code."""

from __future__ import annotations

import json
import math
import uuid
from datetime import timedelta
from decimal import Decimal

from eldercare.extensions import db
from homecare import cards, services
from homecare import visits as hv
from homecare.models import Enrolment, LedgerEntry, Visit
from tests import factories as f

from .conftest import HOME, elder, enrol, iso, now, scan, visit


def test_check_in_then_check_out_debits_the_ledger(client, world):
    start = now() - timedelta(hours=2)
    r = scan(client, world.worker, world.qr, "check_in", at=start, lat=HOME[0], lng=HOME[1])
    assert r.status_code == 201
    v = r.json
    assert v["status"] == "open" and v["exceptions"] == [] and v["check_out_at"] is None
    assert v["enrolment_id"] == world.enrolment.id and v["amount"] == "0.00"
    r = scan(
        client,
        world.worker,
        world.qr,
        "check_out",
        at=start + timedelta(minutes=70),
        services=[{"code": "clean", "quantity": 1}, {"code": "meal", "quantity": 1}],
    )
    assert r.status_code == 201, r.json
    v = r.json
    assert v["status"] == "completed" and v["exceptions"] == []
    assert v["amount"] == "70.00" and v["subsidised"] == "70.00" and v["self_paid"] == "0.00"
    assert v["check_in_at"].endswith("+08:00")
    ledger = client.get(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/ledger", headers=f.headers(world.boss)
    ).json
    assert ledger["allocated"] == "300.00" and ledger["spent"] == "70.00"
    assert ledger["balance"] == "230.00"
    assert [e["kind"] for e in ledger["entries"]] == ["allocation", "visit_debit"]
    assert ledger["entries"][1]["amount"] == "-70.00"


def test_subsidy_takes_what_is_left_and_the_rest_is_self_paid(client, world):
    start = now() - timedelta(days=2)
    for i in range(6):  # 6 × 50 = 300 spent
        r = visit(
            client,
            world.worker,
            world.qr,
            start + timedelta(hours=3 * i),
            65,
            [{"code": "care", "quantity": 1}],
        )
        assert r.json["subsidised"] == "50.00"
    r = visit(
        client,
        world.worker,
        world.qr,
        start + timedelta(hours=20),
        65,
        [{"code": "care", "quantity": 1}],
    )
    assert r.json["subsidised"] == "0.00" and r.json["self_paid"] == "50.00"
    e = db.session.get(Enrolment, world.enrolment.id)
    db.session.refresh(e)
    assert e.balance == Decimal("0.00")


def test_partial_subsidy_when_the_balance_is_short(client, world):
    start = now() - timedelta(days=1)
    visit(
        client,
        world.worker,
        world.qr,
        start,
        300,
        [{"code": "escort", "quantity": 4}, {"code": "clean", "quantity": 1}],
    )  # 280
    r = visit(
        client,
        world.worker,
        world.qr,
        start + timedelta(hours=6),
        65,
        [{"code": "care", "quantity": 1}],
    )
    assert (r.json["amount"], r.json["subsidised"], r.json["self_paid"]) == (
        "50.00",
        "20.00",
        "30.00",
    )


def test_services_are_required_on_check_out(client, world):
    scan(client, world.worker, world.qr, "check_in", at=now() - timedelta(hours=1))
    r = scan(client, world.worker, world.qr, "check_out")
    assert r.status_code == 422 and "services" in r.json["error"]["fields"]
    r = scan(
        client, world.worker, world.qr, "check_out", services=[{"code": "nope", "quantity": 1}]
    )
    assert r.status_code == 422 and "services" in r.json["error"]["fields"]
    r = scan(
        client, world.worker, world.qr, "check_out", services=[{"code": "bath", "quantity": 1.5}]
    )
    assert r.status_code == 422


def test_check_out_without_a_visit_open_is_409(client, world):
    r = scan(
        client, world.worker, world.qr, "check_out", services=[{"code": "meal", "quantity": 1}]
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "no_open_visit"


def test_same_client_id_counts_once(client, world):
    cid = str(uuid.uuid4())
    at = now() - timedelta(hours=1)
    first = scan(client, world.worker, world.qr, "check_in", at=at, client_id=cid)
    again = scan(client, world.worker, world.qr, "check_in", at=at, client_id=cid)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == first.json
    out_id = str(uuid.uuid4())
    picked = [{"code": "clean", "quantity": 1}]
    a = scan(
        client,
        world.worker,
        world.qr,
        "check_out",
        at=at + timedelta(minutes=61),
        services=picked,
        client_id=out_id,
    )
    b = scan(
        client,
        world.worker,
        world.qr,
        "check_out",
        at=at + timedelta(minutes=61),
        services=picked,
        client_id=out_id,
    )
    assert a.status_code == 201 and b.status_code == 200 and a.json == b.json
    assert db.session.query(LedgerEntry).filter_by(kind="visit_debit").count() == 1


def test_same_client_id_with_another_body_is_409(client, world):
    cid = str(uuid.uuid4())
    at = now() - timedelta(hours=1)
    assert scan(client, world.worker, world.qr, at=at, client_id=cid).status_code == 201
    r = scan(client, world.worker, world.qr, at=at + timedelta(minutes=1), client_id=cid)
    assert r.status_code == 409


def test_forged_tampered_and_revoked_cards_are_invalid_card(client, world):
    qr = world.qr
    for bad in (
        "http://127.0.0.1:5000/v/forged",
        qr[:-2] + ("AA" if qr[-2:] != "AA" else "BB"),
        "not a card",
        "9999-1-0000",
    ):
        r = scan(client, world.worker, bad)
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_card", bad
    r = client.post(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/card/reissue",
        headers=f.headers(world.boss),
    )
    assert r.status_code == 201 and r.json["card_serial"] == 2
    r = scan(client, world.worker, qr)
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_card"
    assert scan(client, world.worker, r.json and cards_url(world)).status_code == 201


def cards_url(world) -> str:
    e = db.session.get(Enrolment, world.enrolment.id)
    db.session.refresh(e)
    return cards.url(e)


def test_short_card_number_works_like_the_qr(client, world):
    number = cards.short_number(world.enrolment)
    assert scan(client, world.worker, number).status_code == 201
    a, s, check = number.split("-")
    wrong = f"{a}-{s}-{(int(check) + 1) % 10000:04d}"
    assert scan(client, world.worker, wrong).json["error"]["code"] == "invalid_card"


def test_another_providers_elder_is_403(client, world):
    stranger = f.user("worker", provider_id=world.other.id)
    r = scan(client, stranger, world.qr)
    assert r.status_code == 403


def test_only_workers_scan_a_provider_account_manages(client, world, admin):
    """Separation of duties: the provider admin who claims the money cannot log the
    visits it is paid for (issue 14.3), by scan or by hand."""
    for user in (world.boss, f.user("admin"), f.user("auditor")):
        r = scan(client, user, world.qr)
        assert r.status_code == 403, user.role
        manual = {
            "enrolment_id": world.enrolment.id,
            "check_in_at": iso(now()),
            "check_out_at": iso(now()),
            "services": [{"code": "clean", "quantity": 1}],
            "reason": "card_lost",
            "note": "x",
        }
        assert (
            client.post(
                "/api/v1/homecare/visits/manual", json=manual, headers=f.headers(user)
            ).status_code
            == 403
        )
    assert db.session.query(Visit).count() == 0
    assert scan(client, world.worker, world.qr).status_code == 201
    assert client.post("/api/v1/homecare/scans", json={}).status_code == 401


def test_too_short_and_quantity_exceeds_time(client, world):
    start = now() - timedelta(hours=3)
    r = visit(client, world.worker, world.qr, start, 5, [{"code": "meal", "quantity": 1}])
    assert r.json["exceptions"] == ["too_short"] and r.json["status"] == "flagged"
    r = visit(
        client,
        world.worker,
        world.qr,
        start + timedelta(minutes=30),
        60,
        [{"code": "clean", "quantity": 2}],
    )
    assert "quantity_exceeds_time" in r.json["exceptions"]
    r = visit(
        client,
        world.worker,
        world.qr,
        start + timedelta(minutes=100),
        65,
        [{"code": "clean", "quantity": 1}],
    )
    assert r.json["exceptions"] == []


def test_worker_overlap_flags_the_later_visit_not_refused(client, world):
    second = enrol(elder("赵桂兰"), world.provider)
    qr2 = cards.url(second)
    start = now() - timedelta(hours=3)
    assert scan(client, world.worker, world.qr, at=start).status_code == 201
    r = scan(client, world.worker, qr2, at=start + timedelta(minutes=20))
    assert r.status_code == 201 and r.json["exceptions"] == ["worker_overlap"]
    first = scan(
        client,
        world.worker,
        world.qr,
        "check_out",
        at=start + timedelta(minutes=60),
        services=[{"code": "clean", "quantity": 1}],
    )
    assert "worker_overlap" not in first.json["exceptions"]


def test_overlap_found_when_the_earlier_visit_syncs_later(client, world):
    second = enrol(elder("赵桂兰"), world.provider)
    start = now() - timedelta(hours=3)
    later = visit(
        client,
        world.worker,
        cards.url(second),
        start + timedelta(minutes=20),
        30,
        [{"code": "meal", "quantity": 1}],
    )
    assert later.json["exceptions"] == []
    visit(client, world.worker, world.qr, start, 60, [{"code": "clean", "quantity": 1}])
    r = client.get(f"/api/v1/homecare/visits/{later.json['id']}", headers=f.headers(world.boss))
    assert r.json["exceptions"] == ["worker_overlap"] and r.json["status"] == "flagged"


def test_two_workers_in_one_home_is_fine(client, world):
    helper = f.user("worker", provider_id=world.provider.id)
    start = now() - timedelta(hours=2)
    a = visit(client, world.worker, world.qr, start, 60, [{"code": "bath", "quantity": 1}])
    b = visit(client, helper, world.qr, start, 60, [{"code": "bath", "quantity": 1}])
    assert a.json["exceptions"] == [] and b.json["exceptions"] == []


def test_future_time_beyond_tolerance(client, world):
    assert (
        scan(client, world.worker, world.qr, at=now() + timedelta(minutes=3)).json["exceptions"]
        == []
    )
    helper = f.user("worker", provider_id=world.provider.id)
    r = scan(client, helper, world.qr, at=now() + timedelta(minutes=30))
    assert r.json["exceptions"] == ["future_time"]


def test_far_from_home_keeps_the_distance(client, world):
    r = scan(client, world.worker, world.qr, lat=HOME[0] + 0.02, lng=HOME[1])
    assert r.json["exceptions"] == ["far_from_home"]
    assert 2000 < r.json["distance_m"] < 2400
    helper = f.user("worker", provider_id=world.provider.id)
    r = scan(client, helper, world.qr, lat=HOME[0] + 0.005, lng=HOME[1])
    assert r.json["exceptions"] == [] and 500 < r.json["distance_m"] < 600


def test_deceased_elder(client, world, admin_headers):
    start = now() - timedelta(days=1)
    r = client.post(
        f"/api/v1/people/{world.person.id}/death",
        json={"date": (start - timedelta(days=1)).date().isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 200
    r = visit(client, world.worker, world.qr, start, 60, [{"code": "clean", "quantity": 1}])
    assert "deceased" in r.json["exceptions"] and r.json["subsidised"] == "0.00"
    assert r.json["self_paid"] == "40.00"


def test_death_flags_visits_after_it_and_ends_the_enrolment(client, world, admin_headers):
    start = now() - timedelta(hours=60)
    r = visit(client, world.worker, world.qr, start, 60, [{"code": "clean", "quantity": 1}])
    assert r.json["exceptions"] == []
    day = (start - timedelta(days=1)).date().isoformat()
    client.post(
        f"/api/v1/people/{world.person.id}/death", json={"date": day}, headers=admin_headers
    )
    v = client.get(f"/api/v1/homecare/visits/{r.json['id']}", headers=admin_headers).json
    assert v["exceptions"] == ["deceased"] and v["status"] == "flagged"
    e = client.get(f"/api/v1/homecare/enrolments/{world.enrolment.id}", headers=admin_headers)
    assert e.json["status"] == "ended" and e.json["ended_on"] == day


def test_not_enrolled_when_the_enrolment_ended(client, world):
    services.end_enrolment(
        db.session.get(Enrolment, world.enrolment.id), now().date() - timedelta(days=5), "withdrawn"
    )
    db.session.commit()
    r = visit(
        client,
        world.worker,
        world.qr,
        now() - timedelta(hours=2),
        60,
        [{"code": "clean", "quantity": 1}],
    )
    assert r.json["exceptions"] == ["not_enrolled"] and r.json["subsidised"] == "0.00"


def test_suspect_card_one_worker_many_cards_one_spot(client, world):
    start = now() - timedelta(hours=2)
    qrs = [world.qr] + [cards.url(enrol(elder(n), world.provider)) for n in ("甲", "乙")]
    answers = [
        scan(
            client, world.worker, q, at=start + timedelta(minutes=i), lat=HOME[0], lng=HOME[1]
        ).json
        for i, q in enumerate(qrs)
    ]
    assert "suspect_card" not in answers[1]["exceptions"]
    assert "suspect_card" in answers[2]["exceptions"]


def test_suspect_card_scanned_from_scattered_places(client, world):
    base = now() - timedelta(days=5)
    workers = [f.user("worker", provider_id=world.provider.id) for _ in range(3)]
    spots = [(HOME[0] + 0.03, HOME[1]), (HOME[0], HOME[1] + 0.04), (HOME[0] - 0.03, HOME[1])]
    answers = [
        visit(
            client,
            w,
            world.qr,
            base + timedelta(days=i),
            60,
            [{"code": "clean", "quantity": 1}],
            lat=la,
            lng=ln,
        ).json
        for i, (w, (la, ln)) in enumerate(zip(workers, spots, strict=True))
    ]
    assert "suspect_card" not in answers[0]["exceptions"]
    assert "suspect_card" in answers[2]["exceptions"]


def test_manual_visit_needs_a_reason_and_note(client, world):
    start = now() - timedelta(hours=3)
    body = {
        "enrolment_id": world.enrolment.id,
        "check_in_at": start.isoformat(),
        "check_out_at": (start + timedelta(minutes=60)).isoformat(),
        "services": [{"code": "clean", "quantity": 1}],
        "reason": "card_lost",
        "note": "卡被孙子拿走了",
    }
    r = client.post("/api/v1/homecare/visits/manual", json=body, headers=f.headers(world.worker))
    assert r.status_code == 201, r.json
    assert r.json["exceptions"] == ["manual"] and r.json["manual"] is True
    assert r.json["subsidised"] == "40.00"
    bad = body | {"reason": "because"}
    assert (
        client.post(
            "/api/v1/homecare/visits/manual", json=bad, headers=f.headers(world.worker)
        ).status_code
        == 422
    )
    stranger = f.user("worker", provider_id=world.other.id)
    assert (
        client.post(
            "/api/v1/homecare/visits/manual", json=body, headers=f.headers(stranger)
        ).status_code
        == 403
    )
    mine = client.get("/api/v1/homecare/providers", headers=f.headers(world.boss)).json["items"][0]
    assert mine["manual_visits_this_year"] == 1 and mine["visits_this_year"] == 1


def test_stale_open_visits_close_as_no_check_out(client, world):
    scan(client, world.worker, world.qr, at=now() - timedelta(hours=13))
    assert hv.close_stale_visits() == 1
    db.session.commit()
    r = client.get("/api/v1/homecare/visits?status=flagged", headers=f.headers(world.boss))
    assert r.json["items"][0]["exceptions"] == ["no_check_out"]
    assert hv.close_stale_visits() == 0


# --- proof of presence (issue 14): place, time, home point --------------------------------


def test_a_scan_without_location_is_flagged_with_its_reason(client, world):
    start = now() - timedelta(hours=2)
    r = scan(
        client,
        world.worker,
        world.qr,
        "check_in",
        at=start,
        lat=None,
        lng=None,
        no_location_reason="denied",
    )
    assert r.status_code == 201 and r.json["exceptions"] == ["no_location"]
    assert r.json["no_location_reason"] == "denied"
    r = scan(
        client,
        world.worker,
        world.qr,
        "check_out",
        at=start + timedelta(minutes=65),
        services=[{"code": "care", "quantity": 1}],
    )  # located at the door
    assert r.json["status"] == "flagged" and r.json["exceptions"] == ["no_location"]
    assert r.json["no_location_reason"] == "denied"
    # only one coordinate is no location either; an unknown reason is a field error
    r = scan(client, world.worker, world.qr, lat=HOME[0], at=start + timedelta(minutes=90))
    assert r.json["exceptions"] == ["no_location"] and r.json["no_location_reason"] is None
    r = scan(client, world.worker, world.qr, lat=None, lng=None, no_location_reason="lazy")
    assert r.status_code == 422 and "no_location_reason" in r.json["error"]["fields"]


def test_an_honest_located_visit_stays_clean(client, world):
    start = now() - timedelta(hours=2)
    r = visit(client, world.worker, world.qr, start, 65, [{"code": "care", "quantity": 1}])
    assert r.json["status"] == "completed" and r.json["exceptions"] == []
    assert r.json["no_location_reason"] is None


def test_late_upload_past_72_hours_but_not_an_offline_weekend(client, world):
    """Friday 17:00 to Monday 09:00 without signal is 64 hours: the queue keeps the
    scan's own time, and the visit is clean. 73 hours is late."""
    weekend = now() - timedelta(hours=64)
    r = visit(client, world.worker, world.qr, weekend, 65, [{"code": "care", "quantity": 1}])
    assert r.json["exceptions"] == [] and r.json["status"] == "completed"
    late = now() - timedelta(hours=73, minutes=5)
    r = visit(client, world.worker, world.qr, late, 65, [{"code": "care", "quantity": 1}])
    assert r.json["exceptions"] == ["late_upload"] and r.json["status"] == "flagged"
    # the boundary: just inside 72 hours is on time, just past it is late
    r = scan(client, world.worker, world.qr, at=now() - timedelta(hours=71, minutes=59))
    assert r.json["exceptions"] == []
    other = enrol(elder("赵大妈"), world.provider)
    colleague = f.user("worker", provider_id=world.provider.id)
    r = scan(client, colleague, cards.url(other), at=now() - timedelta(hours=72, minutes=1))
    assert r.json["exceptions"] == ["late_upload"]


def test_future_time_is_still_future_time_not_late(client, world):
    r = scan(client, world.worker, world.qr, at=now() + timedelta(hours=2))
    assert r.json["exceptions"] == ["future_time"]


def test_a_visit_to_an_elder_without_a_home_point_is_flagged(client, world):
    person = elder("无定位老人")
    person.home_lat = person.home_lng = None
    db.session.commit()
    qr = cards.url(enrol(person, world.provider))
    start = now() - timedelta(hours=2)
    r = visit(client, world.worker, qr, start, 65, [{"code": "care", "quantity": 1}])
    assert r.json["exceptions"] == ["no_home_point"] and r.json["status"] == "flagged"


def test_a_manual_visit_logged_days_later_is_late_too(client, world):
    start = now() - timedelta(days=5)
    body = {
        "enrolment_id": world.enrolment.id,
        "check_in_at": iso(start),
        "check_out_at": iso(start + timedelta(minutes=60)),
        "services": [{"code": "clean", "quantity": 1}],
        "reason": "card_lost",
        "note": "卡丢了",
    }
    r = client.post("/api/v1/homecare/visits/manual", json=body, headers=f.headers(world.worker))
    assert r.status_code == 201 and r.json["exceptions"] == ["manual", "late_upload"]


def test_nan_and_infinity_quantities_are_field_errors(client, world):
    start = now() - timedelta(hours=2)
    assert scan(client, world.worker, world.qr, at=start).status_code == 201
    for bad in ("NaN", "Infinity", "-Infinity", "sNaN", "1e999999", "nan", "24.001"):
        r = scan(
            client,
            world.worker,
            world.qr,
            "check_out",
            at=start + timedelta(hours=1),
            services=[{"code": "care", "quantity": bad}],
        )
        assert r.status_code == 422, (bad, r.json)
        assert r.json["error"]["code"] == "validation_failed"
        assert "services" in str(r.json["error"].get("fields")), bad
    # a JSON NaN literal (Python's json reads it) is refused as well
    raw = json.dumps(
        {
            "qr": world.qr,
            "kind": "check_out",
            "at": iso(start + timedelta(hours=1)),
            "client_id": str(uuid.uuid4()),
            "lat": math.nan,
            "lng": 1,
            "services": [{"code": "care", "quantity": math.inf}],
        }
    )
    assert "NaN" in raw and "Infinity" in raw
    r = client.post(
        "/api/v1/homecare/scans",
        data=raw,
        content_type="application/json",
        headers=f.headers(world.worker),
    )
    assert r.status_code in (400, 422) and r.status_code != 500


def test_nan_on_the_workers_page_is_an_error_under_the_field(client, world):
    import re

    f.login(client, world.worker)
    path = "/v/" + world.qr.rsplit("/v/", 1)[1]
    page = client.get(path)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client_in = re.search(r'name="client_id" value="([^"]+)"', page.text).group(1)
    client.post(
        path,
        data={
            "csrf_token": csrf,
            "kind": "check_in",
            "client_id": client_in,
            "no_location_reason": "no_signal",
        },
    )
    out = re.findall(r'name="client_id" value="([^"]+)"', client.get(path).text)[1]
    for bad in ("NaN", "Infinity", "-1", "abc", "1e999999"):
        r = client.post(
            path,
            data={
                "csrf_token": csrf,
                "kind": "check_out",
                "client_id": out,
                "qty_care": bad,
                "qty_meal": "1",
            },
        )
        assert r.status_code == 422, bad
        error = re.search(r'data-testid="qty-error">([^<]+)<', r.text).group(1)
        assert "0 到 24" in error and 'value="1"' in r.text  # what was typed is kept
        assert db.session.query(Visit).one().status.value == "open"
    r = client.post(
        path, data={"csrf_token": csrf, "kind": "check_out", "client_id": out, "qty_care": "1"}
    )
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.query(Visit).one().check_out_at is not None
