"""intake: applications and their steps, home-care places and eligibility rules

Revision ID: intake_0001
Revises: (base of the intake branch; depends on core_0010_township and homecare_0004)
Create Date: 2026-12-05 06:41:07.410846

- applications: 特困 and home-care applications, one open per person and kind (a partial
  unique index), moved on by conditional updates of `version`;
- application_steps: each step once per application (UNIQUE), dated, with its deadline
  and whether it was late;
- homecare_places: the year's places (its row is locked before places are counted);
- eligibility_rules: the year's home-care eligibility rules.
"""
from alembic import op
import sqlalchemy as sa

import eldercare.database


# revision identifiers, used by Alembic.
revision = 'intake_0001'
down_revision = None
branch_labels = ('intake',)
depends_on = ('core_0010_township', 'homecare_0004')


def upgrade():
    op.create_table('eligibility_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=False, comment='any of these person categories'),
    sa.Column('care_levels', sa.JSON(), nullable=False, comment='any of these assessed care levels'),
    sa.CheckConstraint('min_age IS NULL OR min_age BETWEEN 0 AND 120', name=op.f('ck_eligibility_rules_age_in_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_rules')),
    sa.UniqueConstraint('year', 'code', name=op.f('uq_eligibility_rules_year_code'))
    )
    with op.batch_alter_table('eligibility_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_rules_year'), ['year'], unique=False)

    op.create_table('homecare_places',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('places >= 0', name=op.f('ck_homecare_places_places_not_negative')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_homecare_places'))
    )
    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('tekun', 'homecare', name='application_kind', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False, comment="where it was received: the township's scope"),
    sa.Column('village_code', sa.String(length=12), nullable=True),
    sa.Column('status', sa.Enum('received', 'checked', 'noticed', 'approved', 'refused', 'waiting', 'withdrawn', name='application_status', native_enum=False, create_constraint=True, length=13), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False, comment="bumped by every step: the conditional update's guard"),
    sa.Column('year', sa.Integer(), nullable=False, comment='the year applied for (home care: subsidy year)'),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due', sa.Date(), nullable=True, comment='deadline of the next step'),
    sa.Column('source', sa.String(length=16), nullable=False, comment='desk (at the township), or the list that found the person: disability, dibao, age'),
    sa.Column('proposal_id', sa.Integer(), nullable=True, comment='the comparison proposal accepted to start it (dynamic feature, by id)'),
    sa.Column('by_proxy', sa.Boolean(), nullable=False, comment='申请由他人代为提出'),
    sa.Column('proxy_name', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('support_wanted', sa.String(length=12), nullable=True, comment='特困: dispersed or centralized, as the applicant asks'),
    sa.Column('eating', sa.Boolean(), nullable=True, comment='进食'),
    sa.Column('dressing', sa.Boolean(), nullable=True, comment='穿衣'),
    sa.Column('transfer', sa.Boolean(), nullable=True, comment='上下床'),
    sa.Column('toileting', sa.Boolean(), nullable=True, comment='如厕'),
    sa.Column('walking', sa.Boolean(), nullable=True, comment='室内行走'),
    sa.Column('bathing', sa.Boolean(), nullable=True, comment='洗澡'),
    sa.Column('care_level', sa.Enum('self', 'partial', 'full', name='care_level', native_enum=False, create_constraint=True, length=11), nullable=True),
    sa.Column('check_note', sa.String(length=500), nullable=False, comment='home visit, income and supporters (入户调查)'),
    sa.Column('lives_alone', sa.Boolean(), nullable=True, comment='居家养老：独居'),
    sa.Column('services_wanted', sa.JSON(), nullable=False, comment='居家养老：service codes asked for'),
    sa.Column('eligible', sa.Boolean(), nullable=True, comment='居家养老：a rule of the year matched'),
    sa.Column('matched_rules', sa.JSON(), nullable=False, comment='[{code, label}] that matched'),
    sa.Column('need_score', sa.Integer(), nullable=True, comment='居家养老：assessed need, for the rank'),
    sa.Column('need_reasons', sa.JSON(), nullable=False),
    sa.Column('plan_lines', sa.JSON(), nullable=False),
    sa.Column('plan_total', eldercare.database.MoneyType(), nullable=True),
    sa.Column('plan_subsidy', eldercare.database.MoneyType(), nullable=True),
    sa.Column('plan_self_paid', eldercare.database.MoneyType(), nullable=True),
    sa.Column('notice_from', sa.Date(), nullable=True),
    sa.Column('notice_until', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('reasons', sa.String(length=500), nullable=False, comment='written reasons, required for a refusal'),
    sa.Column('category', sa.String(length=12), nullable=True, comment='特困: elderly, disabled or minor'),
    sa.Column('support', sa.String(length=12), nullable=True, comment='特困: dispersed or centralized'),
    sa.Column('support_id', sa.Integer(), nullable=True),
    sa.Column('support_from', sa.Date(), nullable=True, comment='first day of the month after'),
    sa.Column('waiting_since', sa.Date(), nullable=True, comment='居家养老：on the waiting list'),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('agreed_on', sa.Date(), nullable=True, comment='居家养老：协议签订日'),
    sa.Column('withdraw_reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', eldercare.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status <> 'refused' OR reasons <> ''", name=op.f('ck_applications_refusal_has_reasons')),
    sa.CheckConstraint("status <> 'withdrawn' OR withdraw_reason <> ''", name=op.f('ck_applications_withdrawal_has_reason')),
    sa.CheckConstraint('notice_until IS NULL OR notice_until >= notice_from', name=op.f('ck_applications_notice_dates_in_order')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_applications_version_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_applications_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_applications_person_id_people')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_applications_provider_id_providers')),
    sa.ForeignKeyConstraint(['support_id'], ['wubao_supports.id'], name=op.f('fk_applications_support_id_wubao_supports')),
    sa.ForeignKeyConstraint(['township_code'], ['regions.code'], name=op.f('fk_applications_township_code_regions')),
    sa.ForeignKeyConstraint(['village_code'], ['regions.code'], name=op.f('fk_applications_village_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_applications_township_status', ['township_code', 'status'], unique=False)
        batch_op.create_index('ix_applications_year_kind', ['year', 'kind'], unique=False)
        batch_op.create_index('uq_applications_open_per_person', ['person_id', 'kind'], unique=True, sqlite_where=sa.text("status IN ('received', 'checked', 'noticed', 'waiting')"), postgresql_where=sa.text("status IN ('received', 'checked', 'noticed', 'waiting')"))

    op.create_table('application_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('receive', 'check', 'notice', 'plan', 'decide', 'place', 'enrol', 'withdraw', name='application_step', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False, comment='the day it was done (as the clerk dates it)'),
    sa.Column('at', eldercare.database.UTCDateTime(timezone=True), nullable=False, comment='when it was recorded'),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('due', sa.Date(), nullable=True, comment='the deadline that applied'),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_application_steps_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_application_steps_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_steps')),
    sa.UniqueConstraint('application_id', 'step', name=op.f('uq_application_steps_application_id_step'))
    )
    with op.batch_alter_table('application_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_steps_application_id'), ['application_id'], unique=False)




def downgrade():

    with op.batch_alter_table('application_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_steps_application_id'))

    op.drop_table('application_steps')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('uq_applications_open_per_person', sqlite_where=sa.text("status IN ('received', 'checked', 'noticed', 'waiting')"), postgresql_where=sa.text("status IN ('received', 'checked', 'noticed', 'waiting')"))
        batch_op.drop_index('ix_applications_year_kind')
        batch_op.drop_index('ix_applications_township_status')
        batch_op.drop_index(batch_op.f('ix_applications_person_id'))

    op.drop_table('applications')
    op.drop_table('homecare_places')
    with op.batch_alter_table('eligibility_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_rules_year'))

    op.drop_table('eligibility_rules')
