"""claims: recoveries (扣回) of visits found not delivered after their claim was approved

Revision ID: claims_0003
Revises: claims_0002
Create Date: 2026-12-04 18:31:03

A `recoveries` row per (visit, claim that paid it), UNIQUE so that recording the
outcome twice, or two clerks at once, makes one; `claims.recovered_total` is what the
claim carries of them, deducted from what it pays. The column is added in place
(ALTER TABLE ADD COLUMN, also on SQLite): recreating `claims` would cascade into its
lines.
"""

import sqlalchemy as sa
from alembic import op

import eldercare.database

# revision identifiers, used by Alembic.
revision = "claims_0003"
down_revision = "claims_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("from_claim_id", sa.Integer(), nullable=False,
                  comment="the approved or paid claim that paid the visit"),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("amount", eldercare.database.MoneyType(), nullable=False,
                  comment="what from_claim approved for the visit, yuan"),
        sa.Column("taken_by_claim_id", sa.Integer(), nullable=True,
                  comment="the claim it is deducted from; NULL: waiting"),
        sa.Column("ledger", sa.Enum("reversed", "expired", "none", name="recovery_ledger",
                                    native_enum=False, create_constraint=True, length=12),
                  nullable=False,
                  comment="what became of the visit's subsidy in the elder's ledger"),
        sa.Column("sample_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", eldercare.database.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_recoveries_amount_positive")),
        sa.CheckConstraint("taken_by_claim_id IS NULL OR taken_by_claim_id <> from_claim_id",
                           name=op.f("ck_recoveries_taken_by_another_claim")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_recoveries_created_by_id_users")),
        sa.ForeignKeyConstraint(["from_claim_id"], ["claims.id"],
                                name=op.f("fk_recoveries_from_claim_id_claims")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"],
                                name=op.f("fk_recoveries_provider_id_providers")),
        sa.ForeignKeyConstraint(["sample_id"], ["callback_samples.id"],
                                name=op.f("fk_recoveries_sample_id_callback_samples")),
        sa.ForeignKeyConstraint(["taken_by_claim_id"], ["claims.id"],
                                name=op.f("fk_recoveries_taken_by_claim_id_claims")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"],
                                name=op.f("fk_recoveries_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
        sa.UniqueConstraint("visit_id", "from_claim_id", name="uq_recoveries_visit_claim"),
    )
    op.create_index("ix_recoveries_provider_taken", "recoveries",
                    ["provider_id", "taken_by_claim_id"])
    op.create_index("ix_recoveries_taken_by", "recoveries", ["taken_by_claim_id"])
    op.add_column("claims", sa.Column(
        "recovered_total", eldercare.database.MoneyType(), server_default="0", nullable=False,
        comment="recoveries (扣回) of earlier claims deducted from this one"))


def downgrade():
    op.drop_column("claims", "recovered_total")
    op.drop_index("ix_recoveries_taken_by", table_name="recoveries")
    op.drop_index("ix_recoveries_provider_taken", table_name="recoveries")
    op.drop_table("recoveries")
