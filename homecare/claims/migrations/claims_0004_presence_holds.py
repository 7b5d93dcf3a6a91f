"""claims: a clerk's acceptance of a line's proof-of-presence exceptions

Revision ID: claims_0004_presence
Revises: claims_0003
Create Date: 2026-12-05 06:20:42

Issue 14: a claim line whose visit carries a presence exception (no location, no home
point, uploaded late, a pattern across visits…) is held until a clerk accepts it with a
reason or rejects it (homecare/claims/presence.py). The acceptance is kept on the line,
beside the override, so that reconciling again keeps it; which codes it covered is kept
too, so that an exception found later holds the line again. A CHECK ties an acceptance
to its reason.
"""

import sqlalchemy as sa
from alembic import op

import eldercare.database

# revision identifiers, used by Alembic.
revision = "claims_0004_presence"
down_revision = "claims_0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claim_lines") as batch:
        batch.add_column(sa.Column(
            "accepted_bits", sa.Integer(), server_default="0", nullable=False,
            comment="bits of models.REASONS (presence codes) a clerk accepted with a reason"))
        batch.add_column(sa.Column("accepted_reason", sa.String(length=30), server_default="",
                                   nullable=False, comment="presence.ACCEPT_REASONS code"))
        batch.add_column(sa.Column("accepted_note", sa.String(length=500), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("accepted_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("accepted_at",
                                   eldercare.database.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(batch.f("fk_claim_lines_accepted_by_id_users"), "users",
                                 ["accepted_by_id"], ["id"])
        batch.create_check_constraint(
            batch.f("ck_claim_lines_acceptance_has_reason"),
            "accepted_bits = 0 OR length(accepted_reason) > 0")


def downgrade():
    with op.batch_alter_table("claim_lines") as batch:
        batch.drop_constraint(batch.f("ck_claim_lines_acceptance_has_reason"), type_="check")
        batch.drop_constraint(batch.f("fk_claim_lines_accepted_by_id_users"),
                              type_="foreignkey")
        batch.drop_column("accepted_at")
        batch.drop_column("accepted_by_id")
        batch.drop_column("accepted_note")
        batch.drop_column("accepted_reason")
        batch.drop_column("accepted_bits")
