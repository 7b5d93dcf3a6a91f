"""claims: the claimed ID number encrypted, compared through its blind index

Revision ID: claims_0002
Revises: claims_0001
Create Date: 2026-11-29 09:30:00

claim_lines.id_number is rewritten in place as AES-GCM ciphertext of the kind
"id_number" (eldercare/crypto.py, the app's keys: run it through `eldercare init-db`),
in batches of 1,000 lines, and id_number_hash gets the number's blind index, which
reconciliation compares with the person's (people.id_number_hash, core_0006).
"""

import sqlalchemy as sa
from alembic import op

from eldercare import crypto

# revision identifiers, used by Alembic.
revision = "claims_0002"
down_revision = "claims_0001"
branch_labels = None
depends_on = "core_0006"

BATCH = 1000

lines = sa.table("claim_lines", sa.column("id", sa.Integer), sa.column("id_number", sa.String),
                 sa.column("id_number_hash", sa.String))


def _rewrite(change) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        batch = conn.execute(sa.select(lines.c.id, lines.c.id_number)
                             .where(lines.c.id > last).order_by(lines.c.id).limit(BATCH)).all()
        if not batch:
            return
        new = [{"lid": r.id, **change(r.id_number)} for r in batch]
        conn.execute(lines.update().where(lines.c.id == sa.bindparam("lid"))
                     .values({k: sa.bindparam(k) for k in new[0] if k != "lid"}), new)
        last = batch[-1].id


def _secure_delete(on: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")


def upgrade():
    keys = crypto.keyring()
    _secure_delete(True)
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "id_number_hash", sa.String(length=64), nullable=True,
            comment="blind index (eldercare.crypto): compared with the person's"))
        batch_op.alter_column("id_number", existing_type=sa.String(length=18),
                              type_=sa.String(length=100), existing_nullable=False,
                              comment="as claimed, normalised; AES-GCM",
                              existing_comment="as claimed, normalised")
    _rewrite(lambda number: {"id_number": keys.encrypt(number, "id_number"),
                             "id_number_hash": keys.blind_index(number, "id_number")})
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.alter_column("id_number_hash", existing_type=sa.String(length=64),
                              nullable=False)
    _secure_delete(False)


def downgrade():
    keys = crypto.keyring()
    _rewrite(lambda token: {"id_number": keys.decrypt(token, "id_number")})
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.alter_column("id_number", existing_type=sa.String(length=100),
                              type_=sa.String(length=18), existing_nullable=False,
                              comment="as claimed, normalised",
                              existing_comment="as claimed, normalised; AES-GCM")
        batch_op.drop_column("id_number_hash")
