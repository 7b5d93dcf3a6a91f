"""facilities: the district's beds, residents, leaves and outages per day, kept as day
tallies by triggers (issue 15)

Revision ID: facilities_0002_bed_days
Revises: facilities_0001
Create Date: 2026-12-05 15:40:00

The overview joined every bed to its stay, leave and outage of the day on each request.
bed_days keeps the change per kind of facility and day (facilities/tallies.py,
eldercare/day_tallies.py), written by triggers on beds, stays, leaves and bed_outages
(insert, update, delete) and on facilities (update of kind, opened_on, closed_on); the
rows already there are counted here. An index holds the few reserved beds, which are
today's state and still counted from the beds.
"""

import sqlalchemy as sa
from alembic import op

from eldercare.day_tallies import backfill_sql, drop_sql, trigger_sql
from facilities.tallies import TALLY

revision = "facilities_0002_bed_days"
down_revision = "facilities_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bed_days",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("nursing", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("out_of_service", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "day", name="pk_bed_days"),
    )
    op.create_index(
        "ix_beds_reserved",
        "beds",
        ["reserved_for_id"],
        sqlite_where=sa.text("reserved_for_id IS NOT NULL"),
        postgresql_where=sa.text("reserved_for_id IS NOT NULL"),
    )
    dialect = op.get_bind().dialect.name
    op.execute(backfill_sql(TALLY, dialect))
    for statement in trigger_sql(TALLY, dialect):
        op.execute(statement)


def downgrade():
    for statement in drop_sql(TALLY, op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_beds_reserved", table_name="beds")
    op.drop_table("bed_days")
