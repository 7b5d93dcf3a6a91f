"""audit log: several hash chains, so that writers need not wait for one lock (issue 15)

Revision ID: core_0011_audit_chains
Revises: core_0010_township
Create Date: 2026-12-05 12:30:00

- audit_log.chain: which chain an entry belongs to (eldercare/audit_chain.py). Every
  existing entry is chain 0, its prev_hash and hash unchanged: the chain is not part of
  an entry's hash, so no row is rewritten (and the append-only trigger is not lifted).
- an index (chain, id): the newest entry of a chain, and verification chain by chain.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'core_0011_audit_chains'
down_revision = 'core_0010_township'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'chain', sa.SmallInteger(), nullable=False, server_default='0',
            comment='which hash chain (eldercare/audit_chain.py): a writer appends to a free one'))
        batch_op.create_index('ix_audit_log_chain_id', ['chain', 'id'], unique=False)


def downgrade():
    # Only while a single chain is in use: entries of other chains would no longer verify.
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_chain_id')
        batch_op.drop_column('chain')
