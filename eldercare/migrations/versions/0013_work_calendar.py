"""the working calendar: statutory holidays and the weekends worked in exchange (issue 18)

Revision ID: core_0013_work_calendar
Revises: core_0012_wubao_days
Create Date: 2026-12-05 15:30:00

- calendar_days: one row per day that is not what its weekday says (a holiday, or a
  Saturday or Sunday worked), the primary key keeping a day from being both. The
  seed (eldercare/workdays.py, loaded by init-db) fills the years the State Council
  has published.
"""
from alembic import op
import sqlalchemy as sa

import eldercare.database


# revision identifiers, used by Alembic.
revision = 'core_0013_work_calendar'
down_revision = 'core_0012_wubao_days'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('holiday', 'workday', name='calendar_day_kind', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False, comment='the holiday it belongs to: 春节, 国庆节, …'),
    sa.Column('created_at', eldercare.database.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )


def downgrade():
    op.drop_table('calendar_days')
