"""entrants' lists (应保尽保): comparison kinds disability, dibao, age; proposal kind
propose_application

Revision ID: dynamic_0002_entrants
Revises: dynamic_0001
Create Date: 2026-12-05 09:10:00

- comparisons.kind admits `disability` (残疾人证), `dibao` (低保, 60+) and `age` (turning
  60 or 80 in the month): lists that find people who qualify and are not supported.
- proposals.kind gets its own set of values (proposal_kind): the exits and the income
  review as before, and `propose_application` for a matched entrant. Existing rows keep
  their values.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dynamic_0002_entrants'
down_revision = 'dynamic_0001'
branch_labels = None
depends_on = None

OLD = ('death', 'moved', 'income')
COMPARISON = OLD + ('disability', 'dibao', 'age')
PROPOSAL = OLD + ('propose_application',)


def _in(values) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_comparisons_comparison_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=10),
                              type_=sa.String(length=14), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_comparisons_comparison_kind'), _in(COMPARISON))
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_proposals_comparison_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=10),
                              type_=sa.String(length=23), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_proposals_proposal_kind'), _in(PROPOSAL))


def downgrade():
    op.execute("DELETE FROM proposals WHERE kind = 'propose_application'")
    op.execute("DELETE FROM comparison_rows WHERE comparison_id IN (SELECT id FROM comparisons "
               "WHERE kind IN ('disability', 'dibao', 'age'))")
    op.execute("DELETE FROM comparisons WHERE kind IN ('disability', 'dibao', 'age')")
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_proposals_proposal_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=23),
                              type_=sa.String(length=10), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_proposals_comparison_kind'), _in(OLD))
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_comparisons_comparison_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=14),
                              type_=sa.String(length=10), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_comparisons_comparison_kind'), _in(OLD))
