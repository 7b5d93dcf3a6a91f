"""The subsidy-year job: enrolments carried into the new year once, with its subsidy;
what was left of the old year expires in the old ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
    client.post(f"/api/v1/people/{dead.id}/death", json={"date": f"{OLD}-08-01"},
                headers=admin_headers)
    db.session.query(Enrolment).filter(Enrolment.year == YEAR).delete()
    db.session.commit()

    summary = newyear.new_subsidy_year(str(YEAR))
    db.session.commit()
    assert summary == {"carried": 1, "allocated": "300.00", "expired": "250.00"}
    db.session.expire_all()
    old = db.session.get(Enrolment, e1.id)
    assert old.balance == Decimal("0.00") and old.status.value == "ended"
    assert old.ended_on == date(OLD, 12, 31)
    kinds = [k.value for k in db.session.scalars(sa.select(LedgerEntry.kind).where(
        LedgerEntry.enrolment_id == e1.id).order_by(LedgerEntry.id))]
    assert kinds == ["allocation", "visit_debit", "expiry"]
    new = db.session.scalars(sa.select(Enrolment).where(Enrolment.year == YEAR)).all()
    assert [(n.person_id, n.provider_id, n.balance) for n in new] == [
        (alive.id, provider.id, Decimal("300.00"))]
    assert db.session.get(Enrolment, e2.id).status.value == "ended"
    again = newyear.new_subsidy_year(str(YEAR))
    assert again["carried"] == 0
    for e in db.session.scalars(sa.select(Enrolment)):
        total = sum(db.session.scalars(sa.select(LedgerEntry.amount).where(
            LedgerEntry.enrolment_id == e.id)))
        assert total == e.balance


def test_the_job_is_registered_and_runs_once_per_year(app):
    first = run_job("subsidy-year", str(YEAR + 1))
    assert first.done is True
    assert run_job("subsidy-year", str(YEAR + 1)).done is False
    assert services.catalogue(YEAR + 1)
