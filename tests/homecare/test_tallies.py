"""homecare/tallies.py: the day tallies behind the home-care figures stay exactly equal to a
count of the ledger and the visits, whatever wrote them (scans, check-outs, reversals,
the year's allocation and expiry, bulk inserts), and a recount finds and repairs a
tally that was tampered with."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from click.testing import CliRunner

from eldercare.cli import cli
from eldercare.database import rowcount
from eldercare.extensions import db
from eldercare.timeutil import LOCAL, local_today
from homecare import cards, figures, ledger, newyear, services, tallies
from homecare.models import Enrolment, LedgerEntry, Visit
from tests import factories as f

from .conftest import elder, enrol, make_provider, visit

PICKS = (
    [{"code": "care", "quantity": 1}],
    [{"code": "clean", "quantity": 1}],
    [{"code": "meal", "quantity": 1}, {"code": "clean", "quantity": 1}],
)


def _from_rows(day: date) -> dict:
    """The year-to-`day` figures counted from every row, as the overview once did."""
    start = datetime(day.year, 1, 1, tzinfo=LOCAL)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), LOCAL)
    year = sa.select(Enrolment.id).where(Enrolment.year == day.year)
    allocated, spent = db.session.execute(
        sa.select(*services.ledger_sums()).where(
            LedgerEntry.enrolment_id.in_(year), LedgerEntry.at < end
        )
    ).one()
    visits = db.session.scalar(
        sa.select(sa.func.count(Visit.id)).where(
            Visit.check_in_at >= start, Visit.check_in_at < end
        )
    )
    return {
        "allocated": Decimal(allocated or 0) / 100,
        "spent": -Decimal(spent or 0) / 100,
        "visits": visits,
    }


def _shown(day: date) -> dict:
    got = figures.homecare_figures(day)
    return {k: got[k] for k in ("allocated", "spent", "visits")}


def test_a_random_mix_of_writes_leaves_the_tallies_equal_to_a_count(client, app):
    rng = random.Random(15)
    provider = make_provider()
    workers = [f.user("worker", provider_id=provider.id) for _ in range(3)]
    enrolments = [enrol(elder(f"老人{i}"), provider) for i in range(20)]
    today = local_today()
    first = date(today.year, 1, 1)
    checked_out = []
    for _ in range(60):
        e = rng.choice(enrolments)
        day = first + timedelta(days=rng.randrange((today - first).days + 1))
        start = datetime.combine(day, datetime.min.time(), LOCAL) + timedelta(
            hours=rng.randrange(7, 17), minutes=rng.randrange(60)
        )
        if start > datetime.now(UTC):
            continue
        r = visit(client, rng.choice(workers), cards.url(e), start, 65, rng.choice(PICKS))
        assert r.status_code in (201, 200, 409), r.json
        if r.status_code in (200, 201) and r.json.get("id"):
            checked_out.append((e.id, r.json["id"], Decimal(r.json["subsidised"])))
    for eid, vid, amount in rng.sample(checked_out, min(5, len(checked_out))):
        if amount:
            ledger.credit(eid, vid, amount, "复核后退回")
    db.session.commit()

    assert tallies.recount() == {"ledger_days": 0, "visit_days": 0}
    for day in (today, today - timedelta(days=40), first):
        assert _shown(day) == _from_rows(day), day
    assert _shown(today)["visits"] > 0 and _shown(today)["spent"] > 0


def test_the_year_end_job_and_its_bulk_entries_are_tallied(client, app):
    last = local_today().year - 1
    services.seed_reference_data(last)
    provider = make_provider()
    worker = f.user("worker", provider_id=provider.id)
    e = services.enrol(elder("甲"), provider, last, on=date(last, 1, 1))
    db.session.commit()
    r = visit(
        client,
        worker,
        cards.url(e),
        datetime(last, 6, 3, 9, 0, tzinfo=LOCAL),
        65,
        [{"code": "care", "quantity": 1}],
    )
    assert r.status_code == 201, r.json
    db.session.query(Enrolment).filter(Enrolment.year == last + 1).delete()
    db.session.commit()
    newyear.new_subsidy_year(str(last + 1))  # expiry of the old year, allocation of the new
    db.session.commit()

    assert tallies.recount() == {"ledger_days": 0, "visit_days": 0}
    old = _shown(date(last, 12, 31))
    assert old == _from_rows(date(last, 12, 31))
    assert old["allocated"] == Decimal("300.00") and old["spent"] == Decimal("50.00")
    assert _shown(local_today())["allocated"] == Decimal("300.00")


def test_a_tampered_tally_is_found_and_repaired_by_the_command(world, client, app):
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    r = visit(client, world.worker, world.qr, at, 65, [{"code": "care", "quantity": 1}])
    assert r.status_code == 201, r.json
    changed = rowcount(
        db.session.execute(
            sa.update(tallies.LedgerDay)
            .where(tallies.LedgerDay.spent != 0)
            .values(spent=tallies.LedgerDay.spent - 1)
        )
    )
    assert changed == 1  # the one check-out's day
    db.session.execute(sa.delete(tallies.VisitDay))
    db.session.commit()
    wrong = _shown(local_today())
    assert wrong != _from_rows(local_today())

    runner = CliRunner()
    found = runner.invoke(cli, ["figures", "recount"])
    assert found.exit_code == 1
    assert "ledger_days: 1 row(s) differ" in found.output
    assert "visit_days: 1 row(s) differ" in found.output
    fixed = runner.invoke(cli, ["figures", "recount", "--repair"])
    assert fixed.exit_code == 0, fixed.output
    assert "repaired" in fixed.output
    db.session.expire_all()
    assert _shown(local_today()) == _from_rows(local_today())
    again = runner.invoke(cli, ["figures", "recount"])
    assert again.exit_code == 0 and "0 row(s) differ" in again.output
