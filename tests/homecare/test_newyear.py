"""The subsidy-year job: enrolments carried into the new year once, with its subsidy;
what was left of the old year expires in the old ledger."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.timeutil import LOCAL
from homecare import cards, newyear, services
from homecare.models import Enrolment, LedgerEntry

from .conftest import elder, make_provider, visit

YEAR = datetime.now(UTC).year
OLD = YEAR - 1


def test_enrolments_carry_into_the_new_year_once(client, app, admin_headers):
    services.seed_reference_data(OLD)
    provider = make_provider()
    from tests import factories as f

    worker = f.user("worker", provider_id=provider.id)
    alive, dead = elder("甲"), elder("乙")
    e1 = services.enrol(alive, provider, OLD, on=date(OLD, 1, 1))
    e2 = services.enrol(dead, provider, OLD, on=date(OLD, 1, 1))
    db.session.commit()
    start = datetime(OLD, 6, 3, 9, 0, tzinfo=LOCAL)
    r = visit(client, worker, cards.url(e1), start, 65, [{"code": "care", "quantity": 1}])
    assert r.json["subsidised"] == "50.00"
    client.post(
        f"/api/v1/people/{dead.id}/death", json={"date": f"{OLD}-08-01"}, headers=admin_headers
    )
    db.session.query(Enrolment).filter(Enrolment.year == YEAR).delete()
    db.session.commit()

    summary = newyear.new_subsidy_year(str(YEAR))
    db.session.commit()
    assert summary == {"carried": 1, "allocated": "300.00", "expired": "250.00"}
    db.session.expire_all()
    old = db.session.get(Enrolment, e1.id)
    assert old.balance == Decimal("0.00") and old.status.value == "ended"
    assert old.ended_on == date(OLD, 12, 31)
    kinds = [
        k.value
        for k in db.session.scalars(
            sa.select(LedgerEntry.kind)
            .where(LedgerEntry.enrolment_id == e1.id)
            .order_by(LedgerEntry.id)
        )
    ]
    assert kinds == ["allocation", "visit_debit", "expiry"]
    new = db.session.scalars(sa.select(Enrolment).where(Enrolment.year == YEAR)).all()
    assert [(n.person_id, n.provider_id, n.balance) for n in new] == [
        (alive.id, provider.id, Decimal("300.00"))
    ]
    assert db.session.get(Enrolment, e2.id).status.value == "ended"
    again = newyear.new_subsidy_year(str(YEAR))
    assert again["carried"] == 0
    for e in db.session.scalars(sa.select(Enrolment)):
        total = sum(
            db.session.scalars(
                sa.select(LedgerEntry.amount).where(LedgerEntry.enrolment_id == e.id)
            )
        )
        assert total == e.balance


def new_years_night(monkeypatch) -> None:
    """The runner's clock at 00:30 on 1 January of next year, when the scheduler starts
    the job (a period that has not begun is refused)."""
    from eldercare import jobs

    monkeypatch.setattr(jobs, "now_local", lambda: datetime(YEAR + 1, 1, 1, 0, 30, tzinfo=LOCAL))


def test_the_job_is_registered_and_runs_once_per_year(app, monkeypatch):
    new_years_night(monkeypatch)
    first = run_job("subsidy-year", str(YEAR + 1))
    assert first.done is True
    assert run_job("subsidy-year", str(YEAR + 1)).done is False
    assert services.catalogue(YEAR + 1)


def test_a_check_out_landing_while_the_year_is_carried_keeps_the_ledger_whole(
    client, app, monkeypatch
):
    """A late check-out of the old year is debited just after the job has read the old
    balances and before it expires them (the scheduler at 00:30 on 1 January, a phone
    syncing last night's visit). The expiry must take only what is really left: every
    old yuan is either spent on the visit or expired, once, and the old ledger's
    entries still sum to its balance (0)."""
    import threading

    from tests import factories as f

    from .conftest import enrol, now, scan

    services.seed_reference_data(YEAR + 1)  # the bureau set next year's figures in December
    provider = make_provider()
    worker = f.user("worker", provider_id=provider.id)
    e = enrol(elder("甲"), provider)
    start = now() - timedelta(hours=2)
    assert scan(client, worker, cards.url(e), "check_in", at=start).status_code == 201
    body = {
        "qr": cards.url(e),
        "kind": "check_out",
        "at": (start + timedelta(minutes=65)).isoformat(),
        "client_id": str(uuid.uuid4()),
        "services": [{"code": "care", "quantity": 1}],
    }
    headers = f.headers(worker)
    db.session.commit()
    answer: dict = {}

    def late_check_out():
        with app.app_context():  # a session and connection of its own: another worker
            answer["r"] = app.test_client().post(
                "/api/v1/homecare/scans", json=body, headers=headers
            )

    late = threading.Thread(target=late_check_out)
    execute = db.session.execute

    def between_read_and_write(stmt, *args, **kwargs):
        # the job's first write (the expiry entries) comes right after its read
        if (
            not late.is_alive()
            and "r" not in answer
            and isinstance(stmt, sa.Insert)
            and stmt.table.name == "ledger_entries"
        ):
            late.start()
            late.join(1.5)  # done by now, unless the job's read locked the balance
        return execute(stmt, *args, **kwargs)

    db.session.execute = between_read_and_write
    new_years_night(monkeypatch)
    try:
        assert run_job("subsidy-year", str(YEAR + 1)).done
    finally:
        del db.session.execute
    late.join(30)
    assert answer["r"].status_code == 201, answer["r"].json
    subsidised = Decimal(answer["r"].json["subsidised"])
    db.session.expire_all()
    old = db.session.get(Enrolment, e.id)
    entries = {
        k.value: a
        for k, a in db.session.execute(
            sa.select(LedgerEntry.kind, sa.func.count())
            .where(LedgerEntry.enrolment_id == e.id)
            .group_by(LedgerEntry.kind)
        )
    }
    expired = -sum(
        db.session.scalars(
            sa.select(LedgerEntry.amount).where(
                LedgerEntry.enrolment_id == e.id, LedgerEntry.kind == "expiry"
            )
        ),
        Decimal(0),
    )
    assert subsidised + expired == Decimal("300.00")
    assert entries["expiry"] == 1 and entries.get("visit_debit", 0) == (1 if subsidised else 0)
    assert (
        old.balance
        == Decimal("0.00")
        == sum(
            db.session.scalars(
                sa.select(LedgerEntry.amount).where(LedgerEntry.enrolment_id == e.id)
            )
        )
    )
    assert old.status.value == "ended"
