"""特困 persons supported per day, kept as day tallies by triggers (issue 15)

Revision ID: core_0012_wubao_days
Revises: core_0011_audit_chains
Create Date: 2026-12-05 15:30:00

The overview counted every support period (joined to its person's death) on each
request, thirteen times for the trend. wubao_days keeps the change per category, form
of support and day (eldercare/wubao_tallies.py, eldercare/day_tallies.py): the triggers
on wubao_supports (insert, update, delete) and people (update of death_date) write it in
the writing transaction; the rows already there are counted here.
"""

import sqlalchemy as sa
from alembic import op

from eldercare.day_tallies import backfill_sql, drop_sql, trigger_sql
from eldercare.wubao_tallies import TALLY

revision = "core_0012_wubao_days"
down_revision = "core_0011_audit_chains"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wubao_days",
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("support", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("category", "support", "day", name="pk_wubao_days"),
    )
    dialect = op.get_bind().dialect.name
    op.execute(backfill_sql(TALLY, dialect))
    for statement in trigger_sql(TALLY, dialect):
        op.execute(statement)


def downgrade():
    for statement in drop_sql(TALLY, op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("wubao_days")
