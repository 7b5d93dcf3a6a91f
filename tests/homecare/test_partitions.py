"""homecare/partitions.py: visits and ledger entries partitioned by year on PostgreSQL keep
every rule the unpartitioned tables kept: one allocation, transfer and debit per key
whatever year each row falls in (also two writers at once), the foreign keys into
visits, the day tallies; a row of a year without its partition waits in the default and
moves when its year is added.

Run on a partitioned schema: ELDERCARE_TEST_PARTITIONED=1 with a PostgreSQL
TEST_DATABASE_URL (`make test-partitioned` runs the home-care tests so); on SQLite the
command refuses."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.exc import IntegrityError

from eldercare.cli import cli
from eldercare.database import is_postgres, table_of, violated_constraint
from eldercare.extensions import db
from homecare import partitions, tallies
from homecare.models import EntryKind, LedgerEntry, Visit, VisitService

from .conftest import visit

MEAL = [{"code": "meal", "quantity": 1}]


@pytest.fixture
def partitioned(app):
    if not (is_postgres(db.engine) and partitions.is_partitioned(db.session, "visits")):
        pytest.skip("needs ELDERCARE_TEST_PARTITIONED=1 on PostgreSQL")


def _parts(table: str) -> dict[str, int]:
    """Rows per partition."""
    names = db.session.scalars(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY 1"
        ),
        {"t": table},
    ).all()
    counts = {n: db.session.scalar(sa.text(f"SELECT count(*) FROM {n}")) for n in names}  # noqa: S608
    db.session.commit()  # the command takes the tables' locks
    return counts


def _this_year() -> int:
    return datetime.now(UTC).year


def test_sqlite_has_no_partitions(app):
    if is_postgres(db.engine):
        pytest.skip("SQLite")
    result = CliRunner().invoke(cli, ["homecare", "partition-by-year"])
    assert result.exit_code != 0 and "PostgreSQL only" in result.output


def test_a_visit_lands_in_its_local_year_and_an_old_one_moves_when_its_year_comes(
    partitioned, client, world
):
    year = _this_year()
    # 31 December, 23:30 in Shanghai is still last year there (15:30 UTC)
    late = datetime(year - 1, 12, 31, 15, 30, tzinfo=UTC)
    db.session.add(
        Visit(
            enrolment_id=world.enrolment.id,
            provider_id=world.provider.id,
            worker_id=world.worker.id,
            check_in_at=late,
            status="completed",
        )
    )
    db.session.commit()
    assert (
        visit(
            client, world.worker, world.qr, datetime.now(UTC) - timedelta(hours=2), 30, MEAL
        ).status_code
        == 201
    )
    before = _parts("visits")
    assert before[f"visits_y{year}"] == 1 and before["visits_other"] == 1
    result = CliRunner().invoke(cli, ["homecare", "partition-by-year"])
    assert result.exit_code == 0, result.output
    assert f"visits_y{year - 1}" in result.output
    after = _parts("visits")
    assert after[f"visits_y{year - 1}"] == 1 and after["visits_other"] == 0
    assert after[f"visits_y{year}"] == 1
    assert tallies.recount(repair=False) == {"ledger_days": 0, "visit_days": 0}
    again = CliRunner().invoke(cli, ["homecare", "partition-by-year"])
    assert again.exit_code == 0 and "partitions added: none" in again.output


def _entry(world, kind: EntryKind, amount: str, at: datetime, visit_id=None) -> LedgerEntry:
    return LedgerEntry(
        enrolment_id=world.enrolment.id,
        kind=kind,
        amount=Decimal(amount),
        visit_id=visit_id,
        at=at,
        note="",
    )


@pytest.mark.parametrize(
    ("kind", "amount", "index"),
    [
        (EntryKind.ALLOCATION, "300.00", "uq_ledger_entries_one_allocation"),
        (EntryKind.TRANSFER_OUT, "-1.00", "uq_ledger_entries_one_transfer_out"),
    ],
)
def test_once_per_enrolment_holds_across_years(partitioned, world, kind, amount, index):
    year = _this_year()
    if kind != EntryKind.ALLOCATION:  # the enrolment's allocation is there already
        db.session.add(_entry(world, kind, amount, datetime(year, 3, 1, tzinfo=UTC)))
        db.session.commit()
    db.session.add(_entry(world, kind, amount, datetime(year + 1, 1, 2, tzinfo=UTC)))
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    assert violated_constraint(caught.value, table_of(LedgerEntry)) == index
    db.session.rollback()


def test_a_visit_is_debited_once_even_in_another_year(partitioned, client, world):
    assert (
        visit(
            client, world.worker, world.qr, datetime.now(UTC) - timedelta(hours=2), 30, MEAL
        ).status_code
        == 201
    )
    visit_id = db.session.scalar(sa.select(Visit.id))
    db.session.add(
        _entry(
            world,
            EntryKind.VISIT_DEBIT,
            "-1.00",
            datetime(_this_year() + 1, 6, 1, tzinfo=UTC),
            visit_id=visit_id,
        )
    )
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    assert (
        violated_constraint(caught.value, table_of(LedgerEntry))
        == "uq_ledger_entries_enrolment_id_visit_id_kind"
    )
    db.session.rollback()


def test_two_writers_of_one_transfer_in_two_years_one_wins(partitioned, world):
    """The second writer waits on the enrolment's lock and then sees the first's row."""
    insert = sa.text(
        "INSERT INTO ledger_entries (enrolment_id, kind, amount, visit_id, at, note) "
        "VALUES (:e, 'transfer_in', 100, NULL, :at, '')"
    )
    year, outcome, engine = _this_year(), {}, db.engine
    first = engine.connect()
    first.begin()
    first.execute(insert, {"e": world.enrolment.id, "at": datetime(year, 5, 1, tzinfo=UTC)})

    def second() -> None:
        with engine.connect() as conn:
            try:
                conn.execute(
                    insert, {"e": world.enrolment.id, "at": datetime(year + 1, 1, 5, tzinfo=UTC)}
                )
                conn.commit()
                outcome["second"] = "committed"
            except IntegrityError as exc:
                outcome["second"] = violated_constraint(exc, table_of(LedgerEntry))

    t = threading.Thread(target=second)
    t.start()
    try:
        t.join(1.5)
        waited = t.is_alive()  # waiting for the first writer's enrolment lock
        first.commit()
    finally:
        first.close()
    t.join(10)
    assert waited, outcome
    assert outcome == {"second": "uq_ledger_entries_one_transfer_in"}


def test_foreign_keys_into_visits_hold_as_triggers(partitioned, client, world):
    r = visit(client, world.worker, world.qr, datetime.now(UTC) - timedelta(hours=2), 30, MEAL)
    assert r.status_code == 201
    db.session.add(
        VisitService(visit_id=987654, service_code="meal", quantity=1, unit_price=1, amount=1)
    )
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    assert caught.value.orig.diag.constraint_name == "fk_visit_services_visit_id_visits"
    db.session.rollback()
    v = db.session.scalars(sa.select(Visit)).one()
    with pytest.raises(IntegrityError) as caught:  # its debit and its scans point at it
        db.session.execute(sa.delete(Visit).where(Visit.id == v.id))
    assert caught.value.orig.diag.constraint_name in {
        "fk_ledger_entries_visit_id_visits",
        "fk_scans_visit_id_visits",
    }
    db.session.rollback()
    # nothing else pointing at it: its services go with it (ON DELETE CASCADE)
    db.session.execute(sa.text("DELETE FROM ledger_entries WHERE visit_id = :v"), {"v": v.id})
    db.session.execute(sa.text("DELETE FROM scans WHERE visit_id = :v"), {"v": v.id})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitService)) == 1
    db.session.execute(sa.delete(Visit).where(Visit.id == v.id))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitService)) == 0
    db.session.rollback()
