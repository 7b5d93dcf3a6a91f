"""home care: an index for the newest visits first, and one covering the ledger sums

Revision ID: homecare_0002
Revises: homecare_0001
Create Date: 2026-11-29 10:30:00

Found by `make bench` at demo scale 10 (295,000 visits, 377,000 ledger entries): the
visits list sorted every visit to show the newest 50 (1 s; now the index is walked from
its end), and the overview's subsidy sums read each ledger row from the table (0.6-1 s;
now from the index alone).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "homecare_0002"
down_revision = "homecare_0001"
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX (no batch copy of the tables): both databases do it in place.
    op.create_index("ix_visits_in", "visits", ["check_in_at"], unique=False)
    op.create_index(
        "ix_ledger_entries_enrolment_at_sums",
        "ledger_entries",
        ["enrolment_id", "at", "kind", "amount"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_ledger_entries_enrolment_at_sums", table_name="ledger_entries")
    op.drop_index("ix_visits_in", table_name="visits")
