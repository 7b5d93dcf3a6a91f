"""audit hash chain and the second factor (TOTP) for admin and manager accounts

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-11-29 05:30:00

"""
from alembic import op
import sqlalchemy as sa

import eldercare.database


# revision identifiers, used by Alembic.
revision = 'core_0005'
down_revision = 'core_0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True,
                                      comment='sha256(prev_hash + this entry): `eldercare audit verify`'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True,
                                      comment='second factor (TOTP)'))
        batch_op.add_column(sa.Column('totp_confirmed_at',
                                      eldercare.database.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_confirmed_at')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
