"""alerts keep their text's catalogue entry and values, so each reader gets it in their
language (issue 17.11)

Revision ID: core_0009_alert_text
Revises: core_0008
Create Date: 2026-12-05 07:40:00

- alerts.template: the Chinese source string of the message (its catalogue msgid), with
  %(name)s placeholders; empty for a message written as plain text.
- alerts.params: the placeholders' values (JSON).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'core_0009_alert_text'
down_revision = 'core_0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('template', sa.String(length=300), nullable=False,
                                   server_default='',
                                   comment="the message's catalogue entry (msgid), or empty"))
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True,
                                   comment="the values of the template's placeholders"))


def downgrade():
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('params')
        batch.drop_column('template')
