"""home care: running tallies of the ledger and the visits per local day, kept by triggers

Revision ID: homecare_0005
Revises: homecare_0004
Create Date: 2026-12-05 12:40:00

Issue 15 (scale): the overview summed every ledger entry and visit of the year on each
request. The tallies (homecare/tallies.py) are written by the database in the inserting
transaction and split into 16 shards by enrolment, so concurrent scans do not queue on one
counter row. Ledger entries and visits are append-only: inserts are all there is to count.
On PostgreSQL the triggers are per statement over the inserted rows (one upsert per bulk
insert); SQLite has only row triggers. The tallies of the rows already there are counted
here.
"""

import sqlalchemy as sa
from alembic import op

revision = "homecare_0005"
down_revision = "homecare_0004"
branch_labels = None
depends_on = None

SHARDS = 16
# homecare.tallies.ALLOCATED and SPENT, as stored
ALLOCATED = "('allocation')"
SPENT = "('visit_debit', 'reversal')"


def _ledger_select(source: str, local_day: str) -> str:
    return (
        f"SELECT e.year, {local_day}, n.enrolment_id % {SHARDS}, "
        f"SUM(CASE WHEN n.kind IN {ALLOCATED} THEN n.amount ELSE 0 END), "
        f"SUM(CASE WHEN n.kind IN {SPENT} THEN n.amount ELSE 0 END) "
        f"FROM {source} n JOIN enrolments e ON e.id = n.enrolment_id "
        f"GROUP BY e.year, {local_day}, n.enrolment_id % {SHARDS}"
    )


def _visit_select(source: str, local_day: str) -> str:
    return (
        f"SELECT {local_day}, n.enrolment_id % {SHARDS}, COUNT(*) FROM {source} n "
        f"GROUP BY {local_day}, n.enrolment_id % {SHARDS}"
    )


LEDGER_UPSERT = (
    "ON CONFLICT (year, day, shard) DO UPDATE SET "
    "allocated = ledger_days.allocated + excluded.allocated, "
    "spent = ledger_days.spent + excluded.spent"
)
VISIT_UPSERT = "ON CONFLICT (day, shard) DO UPDATE SET visits = visit_days.visits + excluded.visits"


def upgrade():
    op.create_table(
        "ledger_days",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False, comment="negative: debits"),
        sa.PrimaryKeyConstraint("year", "day", "shard", name="pk_ledger_days"),
    )
    op.create_table(
        "visit_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "shard", name="pk_visit_days"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres()
    else:
        _sqlite()


def _postgres():
    day = "(n.{col} AT TIME ZONE 'Asia/Shanghai')::date"
    ledger_day, visit_day = day.format(col="at"), day.format(col="check_in_at")
    op.execute(f"INSERT INTO ledger_days {_ledger_select('ledger_entries', ledger_day)}")
    op.execute(f"INSERT INTO visit_days {_visit_select('visits', visit_day)}")
    op.execute(f"""
        CREATE FUNCTION ledger_days_tally() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO ledger_days {_ledger_select('added', ledger_day)} {LEDGER_UPSERT};
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER ledger_days_tally AFTER INSERT ON ledger_entries
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT
        EXECUTE FUNCTION ledger_days_tally()""")
    op.execute(f"""
        CREATE FUNCTION visit_days_tally() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO visit_days {_visit_select('added', visit_day)} {VISIT_UPSERT};
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER visit_days_tally AFTER INSERT ON visits
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT
        EXECUTE FUNCTION visit_days_tally()""")


def _sqlite():
    op.execute("INSERT INTO ledger_days "
               + _ledger_select("ledger_entries", "date(n.at, '+8 hours')"))
    op.execute("INSERT INTO visit_days " + _visit_select("visits", "date(n.check_in_at, '+8 hours')"))
    # WHERE true: SQLite's parser needs it between a SELECT and ON CONFLICT
    op.execute(f"""
        CREATE TRIGGER ledger_days_tally AFTER INSERT ON ledger_entries BEGIN
            INSERT INTO ledger_days (year, day, shard, allocated, spent)
            SELECT e.year, date(NEW.at, '+8 hours'), NEW.enrolment_id % {SHARDS},
                   CASE WHEN NEW.kind IN {ALLOCATED} THEN NEW.amount ELSE 0 END,
                   CASE WHEN NEW.kind IN {SPENT} THEN NEW.amount ELSE 0 END
            FROM enrolments e WHERE e.id = NEW.enrolment_id AND true
            {LEDGER_UPSERT};
        END""")
    op.execute(f"""
        CREATE TRIGGER visit_days_tally AFTER INSERT ON visits BEGIN
            INSERT INTO visit_days (day, shard, visits)
            SELECT date(NEW.check_in_at, '+8 hours'), NEW.enrolment_id % {SHARDS}, 1
            WHERE true
            {VISIT_UPSERT};
        END""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_days_tally ON ledger_entries")
        op.execute("DROP TRIGGER visit_days_tally ON visits")
        op.execute("DROP FUNCTION ledger_days_tally()")
        op.execute("DROP FUNCTION visit_days_tally()")
    else:
        op.execute("DROP TRIGGER ledger_days_tally")
        op.execute("DROP TRIGGER visit_days_tally")
    op.drop_table("visit_days")
    op.drop_table("ledger_days")
