"""claims: drafts, withdrawal and supplementary claims (补报); a visit claimed once

Revision ID: claims_0005_lifecycle
Revises: claims_0004_presence
Create Date: 2026-12-05 12:30:00

Issue 17.5. `claims.status` admits `draft` (made by the draft-claims job, submitted by
the provider) and `withdrawn` (before reconciliation, with who, when and why). The
unique (provider_id, month) becomes a partial unique index over the main claims not
withdrawn: a withdrawn claim frees its month, and a further claim for a month is
`supplementary`. `claimed_visits` holds each claimed visit once (its primary key), for
the claim not withdrawn that claims it; filled here from the existing claims, the
oldest claim first, with the visits of the claim's provider and month only (what a
claim may be paid for).
"""

import sqlalchemy as sa
from alembic import op

import eldercare.database

# revision identifiers, used by Alembic.
revision = "claims_0005_lifecycle"
down_revision = "claims_0004_presence"
branch_labels = None
depends_on = None

OLD = "status IN ('submitted', 'reconciled', 'approved', 'paid')"
NEW = "status IN ('draft', 'submitted', 'reconciled', 'approved', 'paid', 'withdrawn')"
LIVE_MAIN = "NOT supplementary AND status <> 'withdrawn'"


def upgrade():
    with op.batch_alter_table("claims") as batch:
        batch.add_column(
            sa.Column(
                "supplementary",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="补报: a further claim for a month that already had one",
            )
        )
        batch.add_column(sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("withdrawn_at", eldercare.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("withdraw_reason", sa.String(length=500), server_default="", nullable=False)
        )
        batch.create_foreign_key(
            batch.f("fk_claims_withdrawn_by_id_users"), "users", ["withdrawn_by_id"], ["id"]
        )
        batch.drop_constraint("uq_claims_provider_month", type_="unique")
        batch.drop_constraint(batch.f("ck_claims_claim_status"), type_="check")
        batch.create_check_constraint(batch.f("ck_claims_claim_status"), NEW)
    op.create_index(
        "uq_claims_provider_month_main",
        "claims",
        ["provider_id", "month"],
        unique=True,
        sqlite_where=sa.text(LIVE_MAIN),
        postgresql_where=sa.text(LIVE_MAIN),
    )
    op.create_table(
        "claimed_visits",
        sa.Column("visit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claimed_visits_claim_id_claims"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_claimed_visits_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_claimed_visits")),
    )
    op.create_index("ix_claimed_visits_claim", "claimed_visits", ["claim_id"])
    # what the claims so far claimed: the visit's first claim (their lines' visits of
    # the claim's provider, checked in within the claim's month)
    op.execute(_backfill())


def _backfill() -> str:
    """The month test differs between the databases: a visit's local month (Asia/Shanghai,
    UTC+8, no daylight saving) against the claim's `YYYY-MM`."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        local_month = "to_char(v.check_in_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
    else:
        local_month = "strftime('%Y-%m', v.check_in_at, '+8 hours')"
    return f"""
        INSERT INTO claimed_visits (visit_id, claim_id)
        SELECT v.id, MIN(c.id)
        FROM claim_lines l
        JOIN claims c ON c.id = l.claim_id
        JOIN visits v ON v.id = l.visit_id AND v.provider_id = c.provider_id
        WHERE {local_month} = c.month
        GROUP BY v.id
    """


def downgrade():
    op.drop_index("ix_claimed_visits_claim", table_name="claimed_visits")
    op.drop_table("claimed_visits")
    op.drop_index("uq_claims_provider_month_main", table_name="claims")
    op.execute("DELETE FROM claims WHERE status IN ('draft', 'withdrawn') OR supplementary")
    with op.batch_alter_table("claims") as batch:
        batch.drop_constraint(batch.f("ck_claims_claim_status"), type_="check")
        batch.create_check_constraint(batch.f("ck_claims_claim_status"), OLD)
        batch.create_unique_constraint("uq_claims_provider_month", ["provider_id", "month"])
        batch.drop_constraint(batch.f("fk_claims_withdrawn_by_id_users"), type_="foreignkey")
        batch.drop_column("withdraw_reason")
        batch.drop_column("withdrawn_at")
        batch.drop_column("withdrawn_by_id")
        batch.drop_column("supplementary")
