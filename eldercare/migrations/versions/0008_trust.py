"""trust: one-time passwords, TOTP codes good once, failure counters, append-only audit

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-04 18:30:00

- users.must_change_password: a password set by someone else (a new account, a reset)
  must be changed at the next login, page or token.
- users.totp_last_step: the RFC 6238 time step of the last accepted code, so that a code
  is accepted once (§5.2).
- throttles: failure counters by key (per-address login throttle, card-number lookups),
  in the database so that every process sees them.
- On PostgreSQL a trigger refuses UPDATE and DELETE on audit_log: the chain is
  append-only for everyone who writes through the database, not only for the app. A
  migration that must rewrite the log (a redaction) disables the trigger in its own
  transaction and appends an entry that says so.
"""
from alembic import op
import sqlalchemy as sa

import eldercare.database


# revision identifiers, used by Alembic.
revision = 'core_0008'
down_revision = 'core_0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'totp_last_step', sa.Integer(), nullable=True,
            comment='RFC 6238 time step of the last code accepted: a code is good once'))
        batch_op.add_column(sa.Column(
            'must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False,
            comment='set by someone else (created, reset): the next login must change it'))
    op.create_table(
        'throttles',
        sa.Column('key', sa.String(length=128), nullable=False,
                  comment="what is counted: 'login-ip:1.2.3.4', …"),
        sa.Column('failures', sa.Integer(), nullable=False,
                  comment='failures since window_from'),
        sa.Column('window_from', eldercare.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', eldercare.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_throttles')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$;
        """)
        op.execute("""
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        """)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table('throttles')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('totp_last_step')
