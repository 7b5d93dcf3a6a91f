"""intake: the year's step deadlines and need points, set by the bureau (issue 18)

Revision ID: intake_0002_year_values
Revises: intake_0001
Create Date: 2026-12-05 15:45:00

- intake_year_values: per year and code (intake/settings.py), a number the bureau sets:
  the working days of a home-care step (GB/T 43153-2023 gives the steps, not the days),
  the days of the 特困 notice's "promptly", the waiting list's need points. A year
  without rows uses the latest earlier year's, then the defaults; none is seeded, so
  that the page tells a default from a value the bureau set.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'intake_0002_year_values'
down_revision = 'intake_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('intake_year_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.CheckConstraint('value BETWEEN 0 AND 1000', name=op.f('ck_intake_year_values_value_in_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_year_values')),
    sa.UniqueConstraint('year', 'code', name=op.f('uq_intake_year_values_year_code'))
    )
    with op.batch_alter_table('intake_year_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_year_values_year'), ['year'], unique=False)


def downgrade():
    with op.batch_alter_table('intake_year_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_year_values_year'))
    op.drop_table('intake_year_values')
