"""encrypt the second factor's secret (users.totp_secret)

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-11-29 09:45:00

The TOTP secret opens an admin's or manager's second factor: anyone who reads it from a
copy of the database can compute the codes. It is stored AES-GCM encrypted like the ID
numbers (eldercare/crypto.py, the app's keys: run through `eldercare init-db`). The
column grows to 128 characters for the ciphertext (PostgreSQL; SQLite does not enforce
a VARCHAR length). Only admin and manager accounts have one: no batching.
"""
from alembic import op
import sqlalchemy as sa

from eldercare import crypto

# revision identifiers, used by Alembic.
revision = 'core_0007'
down_revision = 'core_0006'
branch_labels = None
depends_on = None

KIND = 'totp_secret'
users = sa.table('users', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String))


def _rewrite(change) -> None:
    conn = op.get_bind()
    for uid, value in conn.execute(sa.select(users.c.id, users.c.totp_secret)
                                   .where(users.c.totp_secret.is_not(None))).all():
        conn.execute(users.update().where(users.c.id == uid).values(totp_secret=change(value)))


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('users', 'totp_secret', type_=sa.String(128), existing_nullable=True)
    keys = crypto.keyring()
    _rewrite(lambda secret: keys.encrypt(secret, KIND))


def downgrade():
    keys = crypto.keyring()
    _rewrite(lambda token: keys.decrypt(token, KIND))
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('users', 'totp_secret', type_=sa.String(64), existing_nullable=True)
