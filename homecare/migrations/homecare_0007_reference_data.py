"""home care: service codes unique per year ignoring case; an enrolment's reason for a
township outside its provider's contract; providers serve where they already serve

Revision ID: homecare_0007
Revises: homecare_0006_lifecycle
Create Date: 2026-12-05 12:30:00

Issue 17.1 (reference data on pages):
- Service codes as the bureau's catalogue writes them (`JJ-01`) are matched ignoring
  case, so `jj-01` and `JJ-01` cannot both be in one year's price list: the unique
  constraint on (year, code) becomes a unique index on (year, lower(code)).
- A provider serves only its contract townships; an enrolment outside them carries the
  stated reason (`enrolments.outside_reason`).
- Providers that existed before the rule are given, as contract townships, every
  township in which they have an active enrolment (on top of those they had). Not the
  whole district: that would let every existing provider enrol anywhere without a reason
  until someone trimmed its list, which is the opposite of the rule; the townships where
  it already serves are what its contract covers in practice, so every existing enrolment
  stays valid (and is carried into the new year without a reason), and the bureau widens
  a list on the provider's page.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "homecare_0007"
down_revision = "homecare_0006_lifecycle"
branch_labels = None
depends_on = None

_SERVED = sa.text(
    "INSERT INTO provider_townships (provider_id, township_code) "
    "SELECT DISTINCT e.provider_id, p.township_code FROM enrolments e "
    "JOIN people p ON p.id = e.person_id "
    "WHERE e.status = 'active' AND p.township_code IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM provider_townships t "
    "WHERE t.provider_id = e.provider_id AND t.township_code = p.township_code)"
)


def upgrade():
    with op.batch_alter_table("services") as batch:
        batch.drop_constraint("uq_services_year_code", type_="unique")
    op.create_index(
        "uq_services_year_code_ci", "services", ["year", sa.text("lower(code)")], unique=True
    )
    with op.batch_alter_table("enrolments") as batch:
        batch.add_column(sa.Column(
            "outside_reason", sa.String(length=200), nullable=False, server_default="",
            comment="why the elder's township is outside the provider's contract townships"))
    op.execute(_SERVED)


def downgrade():
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("outside_reason")
    op.drop_index("uq_services_year_code_ci", table_name="services")
    with op.batch_alter_table("services") as batch:
        batch.create_unique_constraint("uq_services_year_code", ["year", "code"])
