"""home care: the enrolment's lifecycle (withdrawal, change of provider mid-year)

Revision ID: homecare_0006_lifecycle
Revises: homecare_0005
Create Date: 2026-12-05 12:30:00

Issue 17.4:
- enrolments: UNIQUE(person_id, year) becomes "at most one *active* enrolment per elder
  and year" (a partial unique index): a change of provider ends one enrolment and starts
  the next in the same year. `end_note` keeps the reason given for a withdrawal;
  `transferred_from_id` (unique) names the enrolment whose balance the new one took over,
  so that a balance is moved once.
- ledger_entries: kinds `transfer_out` (-) and `transfer_in` (+), each at most once per
  enrolment (partial unique indexes). The day tallies (homecare_0005) leave them out: a
  move's two entries add up to nothing in a day's district figures. On SQLite the tables
  are copied anew (batch mode), which drops the table's trigger: it is made again after.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "homecare_0006_lifecycle"
down_revision = "homecare_0005"
branch_labels = None
depends_on = None

OLD_KINDS = ("allocation", "visit_debit", "reversal", "expiry")
KINDS = OLD_KINDS + ("transfer_out", "transfer_in")
OLD_SIGN = ("(kind IN ('allocation', 'reversal') AND amount > 0) OR "
            "(kind IN ('visit_debit', 'expiry') AND amount < 0)")
SIGN = ("(kind IN ('allocation', 'reversal', 'transfer_in') AND amount > 0) OR "
        "(kind IN ('visit_debit', 'expiry', 'transfer_out') AND amount < 0)")
ACTIVE = sa.text("status = 'active'")


def _in(values) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


SHARDS = 16  # homecare_0005's tally trigger, as it made it on SQLite
LEDGER_TRIGGER = f"""
    CREATE TRIGGER ledger_days_tally AFTER INSERT ON ledger_entries BEGIN
        INSERT INTO ledger_days (year, day, shard, allocated, spent)
        SELECT e.year, date(NEW.at, '+8 hours'), NEW.enrolment_id % {SHARDS},
               CASE WHEN NEW.kind IN ('allocation') THEN NEW.amount ELSE 0 END,
               CASE WHEN NEW.kind IN ('visit_debit', 'reversal') THEN NEW.amount ELSE 0 END
        FROM enrolments e WHERE e.id = NEW.enrolment_id AND true
        ON CONFLICT (year, day, shard) DO UPDATE SET
        allocated = ledger_days.allocated + excluded.allocated,
        spent = ledger_days.spent + excluded.spent;
    END"""


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():  # copying the tables anew would lose it, or trip over its reference
        op.execute("DROP TRIGGER IF EXISTS ledger_days_tally")
    _upgrade()
    if _sqlite():
        op.execute(LEDGER_TRIGGER)


def downgrade():
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS ledger_days_tally")
    _downgrade()
    if _sqlite():
        op.execute(LEDGER_TRIGGER)


def _upgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "end_note", sa.String(length=200), nullable=False, server_default="",
            comment="why it was withdrawn, as told"))
        batch_op.add_column(sa.Column(
            "transferred_from_id", sa.Integer(), nullable=True,
            comment="the enrolment whose balance this one took over; unique: moved once"))
        batch_op.create_foreign_key(op.f("fk_enrolments_transferred_from_id_enrolments"),
                                    "enrolments", ["transferred_from_id"], ["id"])
        batch_op.create_unique_constraint(op.f("uq_enrolments_transferred_from_id"),
                                          ["transferred_from_id"])
        batch_op.drop_constraint(op.f("uq_enrolments_person_id_year"), type_="unique")
    op.create_index("uq_enrolments_one_active", "enrolments", ["person_id", "year"],
                    unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_ledger_entries_ledger_kind"), type_="check")
        batch_op.drop_constraint(op.f("ck_ledger_entries_sign_by_kind"), type_="check")
        batch_op.alter_column("kind", existing_type=sa.String(length=15),
                              type_=sa.String(length=16), existing_nullable=False)
        batch_op.create_check_constraint(op.f("ck_ledger_entries_ledger_kind"), _in(KINDS))
        batch_op.create_check_constraint(op.f("ck_ledger_entries_sign_by_kind"), SIGN)
    for kind in ("transfer_out", "transfer_in"):
        where = sa.text(f"kind = '{kind}'")
        op.create_index(f"uq_ledger_entries_one_{kind}", "ledger_entries", ["enrolment_id"],
                        unique=True, sqlite_where=where, postgresql_where=where)


def _downgrade():
    for kind in ("transfer_out", "transfer_in"):
        op.drop_index(f"uq_ledger_entries_one_{kind}", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_ledger_entries_sign_by_kind"), type_="check")
        batch_op.drop_constraint(op.f("ck_ledger_entries_ledger_kind"), type_="check")
        batch_op.alter_column("kind", existing_type=sa.String(length=16),
                              type_=sa.String(length=15), existing_nullable=False)
        batch_op.create_check_constraint(op.f("ck_ledger_entries_ledger_kind"), _in(OLD_KINDS))
        batch_op.create_check_constraint(op.f("ck_ledger_entries_sign_by_kind"), OLD_SIGN)
    op.drop_index("uq_enrolments_one_active", table_name="enrolments")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_enrolments_person_id_year"),
                                          ["person_id", "year"])
        batch_op.drop_constraint(op.f("uq_enrolments_transferred_from_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_enrolments_transferred_from_id_enrolments"),
                                 type_="foreignkey")
        batch_op.drop_column("transferred_from_id")
        batch_op.drop_column("end_note")
