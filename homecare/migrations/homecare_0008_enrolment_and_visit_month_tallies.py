"""home care: the elders enrolled per day and the visits per month and provider, kept as
tallies by triggers (issue 15)

Revision ID: homecare_0008
Revises: homecare_0007
Create Date: 2026-12-05 15:40:00

The overview counted the year's enrolments on each request, the dashboard every visit of
the year by month. enrolment_days (the change per subsidy year and day) and visit_months
(visits and flagged visits per provider, shard and local month) are written by triggers
on enrolments and visits (insert, update of the columns they read, delete;
homecare/figure_tallies.py, eldercare/day_tallies.py); the rows already there are
counted here.
"""

import sqlalchemy as sa
from alembic import op

from eldercare.day_tallies import backfill_sql, drop_sql, trigger_sql
from homecare.figure_tallies import ENROLLED, VISIT_MONTHS

revision = "homecare_0008"
down_revision = "homecare_0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "enrolment_days",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", "day", name="pk_enrolment_days"),
    )
    op.create_table(
        "visit_months",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", "shard", "day", name="pk_visit_months"),
    )
    dialect = op.get_bind().dialect.name
    for tally in (ENROLLED, VISIT_MONTHS):
        op.execute(backfill_sql(tally, dialect))
        for statement in trigger_sql(tally, dialect):
            op.execute(statement)


def downgrade():
    for tally in (ENROLLED, VISIT_MONTHS):
        for statement in drop_sql(tally, op.get_bind().dialect.name):
            op.execute(statement)
    op.drop_table("visit_months")
    op.drop_table("enrolment_days")
