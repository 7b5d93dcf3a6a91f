"""home care: why a visit's scan came without the phone's position

Revision ID: homecare_0004
Revises: homecare_0003
Create Date: 2026-12-04 18:40:00

Issue 14 (proof of presence): a scan without lat/lng is flagged `no_location`, and the
worker's page asks for a reason code (location refused, no signal, no GPS, other) that
the claim review shows beside the flag.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "homecare_0004"
down_revision = "homecare_0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column(
            "no_location_reason", sa.String(length=20), nullable=False, server_default="",
            comment="why a scan came without the phone's position (visits.NO_LOCATION_REASONS)"))


def downgrade():
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("no_location_reason")
