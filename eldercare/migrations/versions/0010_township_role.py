"""the township clerk (乡镇/街道经办): a role scoped to one township, and its alerts

Revision ID: core_0010_township
Revises: core_0009_alert_text
Create Date: 2026-12-05 09:00:00

- users.role admits `township`; users.township_code names the clerk's township (a
  foreign key to regions), required for that role (CHECK).
- alerts.township_code: an alert for the clerks of one township (a late application
  step), as facility_id and provider_id are for managers and providers.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'core_0010_township'
down_revision = 'core_0009_alert_text'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'manager', 'provider', 'worker', 'auditor')"
NEW_ROLES = "role IN ('admin', 'manager', 'provider', 'worker', 'auditor', 'township')"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'township_code', sa.String(length=12), nullable=True,
            comment='the township of a township clerk (乡镇/街道)'))
        batch_op.create_foreign_key(op.f('fk_users_township_code_regions'), 'regions',
                                    ['township_code'], ['code'])
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role'), NEW_ROLES)
        batch_op.create_check_constraint(
            op.f('ck_users_township_clerk_has_township'),
            "role <> 'township' OR township_code IS NOT NULL")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'township_code', sa.String(length=12), nullable=True,
            comment="for a township clerk's alerts: their township"))


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('township_code')
    op.execute("DELETE FROM users WHERE role = 'township'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_township_clerk_has_township'), type_='check')
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role'), OLD_ROLES)
        batch_op.drop_constraint(op.f('fk_users_township_code_regions'), type_='foreignkey')
        batch_op.drop_column('township_code')
