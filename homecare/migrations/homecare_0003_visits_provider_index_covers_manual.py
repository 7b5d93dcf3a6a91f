"""home care: the visits' provider index also holds `manual`

Revision ID: homecare_0003
Revises: homecare_0002
Create Date: 2026-11-29 11:00:00

A provider's visits counted by month and by manual entry (the scorecards, the visits
page's manual share per provider) are then read from the index alone: at demo scale 10
(295,000 visits) a provider's year took 110-175 ms fetching every visit row, 45-60 ms
from the index (`make bench`).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "homecare_0003"
down_revision = "homecare_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_visits_provider_in", table_name="visits")
    op.create_index(
        "ix_visits_provider_in", "visits", ["provider_id", "check_in_at", "manual"], unique=False
    )


def downgrade():
    op.drop_index("ix_visits_provider_in", table_name="visits")
    op.create_index("ix_visits_provider_in", "visits", ["provider_id", "check_in_at"], unique=False)
