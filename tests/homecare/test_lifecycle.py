"""The enrolment's lifecycle (issue 17.4, API.md "Lifecycles"): the day it counts from,
withdrawal, change of provider mid-year; each through the API and the page, each
audited, and the roles that may not."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models import AuditEntry
from eldercare.timeutil import local_today
from homecare import cards, tallies
from homecare.models import Enrolment, LedgerEntry
from tests import factories as f

from .conftest import elder, now, visit

TODAY = local_today()
YESTERDAY = TODAY - timedelta(days=1)


def two_days_ago_in_year() -> date:
    d = TODAY - timedelta(days=2)
    if d.year != TODAY.year:
        pytest.skip("the first days of January leave no earlier day in the year")
    return d


@pytest.fixture
def clerk(app):
    return f.user("admin", username="clerk")


def api_enrol(client, clerk, person, provider, **kw):
    return client.post(
        "/api/v1/homecare/enrolments",
        headers=f.headers(clerk),
        json={"person_id": person.id, "provider_id": provider.id, "year": TODAY.year} | kw,
    )


def withdraw(client, user, enrolment_id, on=None, reason="本人申请退出"):
    return client.post(
        f"/api/v1/homecare/enrolments/{enrolment_id}/withdraw",
        headers=f.headers(user),
        json={"date": (on or TODAY).isoformat(), "reason": reason},
    )


def transfer(client, user, enrolment_id, provider_id, on=None):
    return client.post(
        f"/api/v1/homecare/enrolments/{enrolment_id}/transfer",
        headers=f.headers(user),
        json={"provider_id": provider_id, "date": (on or TODAY).isoformat()},
    )


def ledger_of(client, user, enrolment_id) -> dict:
    r = client.get(f"/api/v1/homecare/enrolments/{enrolment_id}/ledger", headers=f.headers(user))
    assert r.status_code == 200, r.json
    return r.json


# --- enrolled_on ------------------------------------------------------------------------


def test_enrolled_on_defaults_to_today_and_to_1_january_of_a_past_year(client, world, clerk):
    r = api_enrol(client, clerk, elder("赵大爷"), world.provider)
    assert r.status_code == 201, r.json
    assert r.json["enrolled_on"] == TODAY.isoformat()
    r = api_enrol(client, clerk, elder("钱大娘"), world.provider, year=TODAY.year - 1)
    assert r.status_code == 201, r.json
    assert r.json["enrolled_on"] == date(TODAY.year - 1, 1, 1).isoformat()


@pytest.mark.parametrize("on", [TODAY + timedelta(days=1), date(TODAY.year - 1, 12, 31)])
def test_enrolled_on_in_the_future_or_outside_the_year_is_refused(client, world, clerk, on):
    r = api_enrol(client, clerk, elder("孙大爷"), world.provider, enrolled_on=on.isoformat())
    assert r.status_code == 422, r.json
    assert "enrolled_on" in r.json["error"]["fields"]


def test_a_late_enrolment_counts_from_enrolled_on(client, world, clerk):
    """Paperwork typed in today for an elder served since two days ago: the visit of
    yesterday is enrolled (drawn from the ledger), one before enrolled_on is not."""
    start = two_days_ago_in_year()
    person = elder("周大娘")
    r = api_enrol(client, clerk, person, world.provider, enrolled_on=start.isoformat())
    assert r.status_code == 201 and r.json["enrolled_on"] == start.isoformat()
    e = db.session.get(Enrolment, r.json["id"])
    yesterday_9 = now().replace(hour=1, minute=0, second=0) - timedelta(days=1)  # 9:00 local
    ok = visit(
        client, world.worker, cards.url(e), yesterday_9, 65, [{"code": "clean", "quantity": 1}]
    )
    assert ok.status_code == 201 and ok.json["exceptions"] == []
    assert ok.json["subsidised"] == "40.00"
    before = visit(
        client,
        world.worker,
        cards.url(e),
        yesterday_9 - timedelta(days=2),
        65,
        [{"code": "clean", "quantity": 1}],
    )
    assert "not_enrolled" in before.json["exceptions"] and before.json["subsidised"] == "0.00"


def test_the_enrolment_page_takes_enrolled_on(client, world, clerk):
    start = two_days_ago_in_year()
    person = elder("吴大爷")
    f.login(client, clerk)
    r = client.post(
        "/homecare/enrolments",
        data={
            "csrf_token": f.csrf(client, "/homecare/enrolments"),
            "person_id": person.id,
            "provider_id": world.provider.id,
            "year": TODAY.year,
            "enrolled_on": start.isoformat(),
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    e = db.session.scalar(sa.select(Enrolment).where(Enrolment.person_id == person.id))
    assert e.enrolled_on == start


# --- withdrawal -------------------------------------------------------------------------


def test_withdrawal_ends_the_enrolment_and_keeps_the_balance_frozen(client, world, clerk):
    e = world.enrolment
    r = withdraw(client, clerk, e.id)
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["end_reason"], r.json["ended_on"]) == (
        "ended",
        "withdrawn",
        TODAY.isoformat(),
    )
    assert r.json["end_note"] == "本人申请退出"
    assert r.json["frozen"] is True and r.json["ledger"]["balance"] == "300.00"
    # no visit from the day draws from it
    after = visit(
        client,
        world.worker,
        world.qr,
        now() - timedelta(minutes=70),
        65,
        [{"code": "clean", "quantity": 1}],
    )
    assert "not_enrolled" in after.json["exceptions"] and after.json["subsidised"] == "0.00"
    assert ledger_of(client, clerk, e.id)["balance"] == "300.00"
    assert db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "enrolment_withdrawn", AuditEntry.entity_id == str(e.id)
        )
    )


def test_a_back_dated_withdrawal_gives_back_what_later_visits_drew(client, world, clerk):
    day = two_days_ago_in_year()
    yesterday_9 = now().replace(hour=1, minute=0, second=0) - timedelta(days=1)
    v = visit(client, world.worker, world.qr, yesterday_9, 65, [{"code": "clean", "quantity": 1}])
    assert v.json["subsidised"] == "40.00"
    assert withdraw(client, clerk, world.enrolment.id, on=day).status_code == 200
    led = ledger_of(client, clerk, world.enrolment.id)
    assert (led["balance"], led["spent"]) == ("300.00", "0.00")
    r = client.get(f"/api/v1/homecare/visits/{v.json['id']}", headers=f.headers(clerk))
    assert "not_enrolled" in r.json["exceptions"]
    assert [x["kind"] for x in led["entries"]][-1] == "reversal"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": ""}, "reason"),
        ({"date": (TODAY + timedelta(days=1)).isoformat()}, "date"),
        ({"date": date(TODAY.year - 1, 6, 1).isoformat()}, "date"),
    ],
)
def test_withdrawal_needs_a_reason_and_a_day_of_the_year_not_to_come(
    client, world, clerk, body, field
):
    r = client.post(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/withdraw",
        headers=f.headers(clerk),
        json={"date": TODAY.isoformat(), "reason": "搬去子女家"} | body,
    )
    assert r.status_code == 422, r.json
    assert field in r.json["error"].get("fields", {})
    db.session.expire_all()
    assert db.session.get(Enrolment, world.enrolment.id).status == "active"


def test_a_second_withdrawal_is_a_conflict(client, world, clerk):
    assert withdraw(client, clerk, world.enrolment.id).status_code == 200
    r = withdraw(client, clerk, world.enrolment.id)
    assert r.status_code == 409 and r.json["error"]["code"] == "already_ended"


@pytest.mark.parametrize("role", ["provider", "worker", "auditor"])
def test_only_the_bureau_withdraws_or_transfers(client, world, role):
    user = (
        world.boss
        if role == "provider"
        else (world.worker if role == "worker" else f.user("auditor"))
    )
    assert withdraw(client, user, world.enrolment.id).status_code == 403
    assert transfer(client, user, world.enrolment.id, world.other.id).status_code == 403
    db.session.expire_all()
    e = db.session.get(Enrolment, world.enrolment.id)
    assert e.status == "active" and e.balance == Decimal("300.00")


# --- change of provider -----------------------------------------------------------------


def test_a_transfer_moves_the_balance_and_the_old_card_stops_working(client, world, clerk):
    """The change is dated yesterday (local): the new provider's visit 70 minutes ago then
    falls within the new enrolment at any hour, also just after midnight in Shanghai, and
    the old provider's visit two days ago stays with the old one."""
    two_days_ago_in_year()  # January's first days have no yesterday in the year
    yesterday = local_today() - timedelta(days=1)
    old = world.enrolment
    old_qr = world.qr
    spent = visit(
        client,
        world.worker,
        old_qr,
        now() - timedelta(days=2, hours=2),
        65,
        [{"code": "clean", "quantity": 1}],
    )
    assert spent.json["subsidised"] == "40.00"
    r = transfer(client, clerk, old.id, world.other.id, on=yesterday)
    assert r.status_code == 201, r.json
    new = r.json
    assert (new["provider_id"], new["status"], new["enrolled_on"]) == (
        world.other.id,
        "active",
        yesterday.isoformat(),
    )
    assert new["transferred_from_id"] == old.id and new["ledger"]["balance"] == "260.00"
    old_led = ledger_of(client, clerk, old.id)
    assert old_led["balance"] == "0.00"
    assert [x["kind"] for x in old_led["entries"]][-1] == "transfer_out"
    assert ledger_of(client, clerk, new["id"])["entries"][0]["kind"] == "transfer_in"
    # allocated counts once across both: 40 spent with the old, 260 held by the new
    assert Decimal(old_led["allocated"]) + Decimal(new["ledger"]["allocated"]) == Decimal(300)
    # the old card is refused; the new provider's worker scans the new one
    theirs = f.user("worker", provider_id=world.other.id)
    r = client.post(
        "/api/v1/homecare/scans",
        headers=f.headers(world.worker),
        json={
            "qr": old_qr,
            "kind": "check_in",
            "at": now().isoformat(),
            "client_id": "00000000-0000-4000-8000-000000000001",
        },
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_card"
    r = client.post(f"/api/v1/homecare/enrolments/{old.id}/card/reissue", headers=f.headers(clerk))
    assert r.status_code == 409 and r.json["error"]["code"] == "enrolment_ended"
    e2 = db.session.get(Enrolment, new["id"])
    ok = visit(
        client,
        theirs,
        cards.url(e2),
        now() - timedelta(minutes=70),
        65,
        [{"code": "clean", "quantity": 1}],
    )
    assert ok.status_code == 201 and ok.json["subsidised"] == "40.00"
    assert ledger_of(client, clerk, new["id"])["balance"] == "220.00"
    assert db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "enrolment_transferred", AuditEntry.entity_id == str(old.id)
        )
    )
    # the district's day tallies, kept by the database, still agree with the ledgers
    assert set(tallies.recount().values()) == {0}


def test_a_transfer_is_refused_twice_to_the_same_provider_and_with_a_visit_open(
    client, world, clerk
):
    r = transfer(client, clerk, world.enrolment.id, world.provider.id)
    assert r.status_code == 422 and "provider_id" in r.json["error"]["fields"]
    r = client.post(
        "/api/v1/homecare/scans",
        headers=f.headers(world.worker),
        json={
            "qr": world.qr,
            "kind": "check_in",
            "at": now().isoformat(),
            "client_id": "00000000-0000-4000-8000-000000000002",
        },
    )
    assert r.status_code == 201
    r = transfer(client, clerk, world.enrolment.id, world.other.id)
    assert r.status_code == 409 and r.json["error"]["code"] == "visit_open"


def test_a_transferred_enrolment_cannot_be_transferred_or_withdrawn_again(client, world, clerk):
    assert transfer(client, clerk, world.enrolment.id, world.other.id).status_code == 201
    third = f.user("admin")  # any clerk: the old enrolment is ended for everyone
    r = transfer(client, third, world.enrolment.id, world.other.id)
    assert r.status_code in (409, 422)
    assert withdraw(client, clerk, world.enrolment.id).status_code == 409
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Enrolment.id)).where(
                Enrolment.person_id == world.person.id, Enrolment.status == "active"
            )
        )
        == 1
    )


def test_the_database_holds_one_active_enrolment_and_one_move(client, world):
    from sqlalchemy.exc import IntegrityError

    db.session.add(
        Enrolment(
            person_id=world.person.id,
            provider_id=world.other.id,
            year=world.enrolment.year,
            status="active",
            enrolled_on=TODAY,
            card_serial=1,
            balance=Decimal("0.00"),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(
        LedgerEntry(enrolment_id=world.enrolment.id, kind="transfer_out", amount=Decimal("-1.00"))
    )
    db.session.add(
        LedgerEntry(enrolment_id=world.enrolment.id, kind="transfer_out", amount=Decimal("-1.00"))
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- the pages --------------------------------------------------------------------------


def test_a_clerk_changes_the_provider_on_the_enrolment_page(client, world, clerk):
    f.login(client, clerk)
    path = f"/homecare/enrolments/{world.enrolment.id}"
    page = client.get(path)
    assert 'data-testid="transfer"' in page.text and 'data-testid="withdraw"' in page.text
    r = client.post(
        f"{path}/transfer",
        data={
            "csrf_token": f.csrf(client, path),
            "provider_id": world.other.id,
            "date": TODAY.isoformat(),
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert world.other.name in r.text and "300.00" in r.text
    assert 'data-testid="predecessor"' in r.text
    old_page = client.get(path)
    assert 'data-testid="successor"' in old_page.text
    assert 'data-testid="transfer"' not in old_page.text


def test_a_clerk_withdraws_on_the_enrolment_page(client, world, clerk):
    f.login(client, clerk)
    path = f"/homecare/enrolments/{world.enrolment.id}"
    r = client.post(
        f"{path}/withdraw",
        data={
            "csrf_token": f.csrf(client, path),
            "date": TODAY.isoformat(),
            "reason": "入住养老院",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert 'data-testid="frozen"' in r.text and "入住养老院" in r.text


def test_a_provider_sees_no_lifecycle_forms_and_cannot_post_them(client, world):
    f.login(client, world.boss)
    path = f"/homecare/enrolments/{world.enrolment.id}"
    page = client.get(path)
    assert page.status_code == 200 and 'data-testid="transfer"' not in page.text
    token = f.csrf(client, path)
    for action, data in (
        ("withdraw", {"date": TODAY.isoformat(), "reason": "x"}),
        ("transfer", {"provider_id": world.other.id, "date": TODAY.isoformat()}),
    ):
        r = client.post(f"{path}/{action}", data={"csrf_token": token} | data)
        assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Enrolment, world.enrolment.id).status == "active"


def test_the_old_provider_does_not_learn_who_took_its_elder_over(client, world, clerk):
    assert transfer(client, clerk, world.enrolment.id, world.other.id).status_code == 201
    f.login(client, world.boss)
    page = client.get(f"/homecare/enrolments/{world.enrolment.id}")
    assert page.status_code == 200 and 'data-testid="ended"' in page.text
    assert world.other.name not in page.text and 'data-testid="successor"' not in page.text
