"""Notifications and escalation steps, call quality control (QC samples and reviews), the
commission's composite-score weights and locked monthly snapshots (issue 14 items 5-7).

Revision ID: 0016
Revises: 0010
Create Date: 2026-11-30 14:39:08.004616

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commission_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_commission_snapshot_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_snapshot')),
    sa.UniqueConstraint('region_id', 'month', name=op.f('uq_commission_snapshot_region_id_month'))
    )
    op.create_table('escalation_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=12), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.SmallInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_escalation_step_hospital_id_hospital')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_step')),
    sa.UniqueConstraint('subject', 'subject_id', 'step', name=op.f('uq_escalation_step_subject_subject_id_step'))
    )
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_step_hospital_at', ['hospital_id', 'at'], unique=False)

    op.create_table('escalation_policy',
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('thresholds', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_escalation_policy_hospital_id_hospital'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_escalation_policy_updated_by_id_user')),
    sa.PrimaryKeyConstraint('hospital_id', name=op.f('pk_escalation_policy'))
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table('qc_policy',
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('rate_percent', sa.SmallInteger(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_qc_policy_hospital_id_hospital'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_qc_policy_updated_by_id_user')),
    sa.PrimaryKeyConstraint('hospital_id', name=op.f('pk_qc_policy'))
    )
    op.create_table('qc_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rate_percent', sa.SmallInteger(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['user.id'], name=op.f('fk_qc_sample_drawn_by_id_user')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_qc_sample_hospital_id_hospital')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_sample')),
    sa.UniqueConstraint('hospital_id', 'month', name=op.f('uq_qc_sample_hospital_id_month'))
    )
    op.create_table('score_weights',
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('complaints_cap', sa.SmallInteger(), nullable=False),
    sa.Column('bottom_n', sa.SmallInteger(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_score_weights_region_id_region'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_score_weights_updated_by_id_user')),
    sa.PrimaryKeyConstraint('region_id', name=op.f('pk_score_weights'))
    )
    op.create_table('qc_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('caller_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('form_complete', sa.Boolean(), nullable=True),
    sa.Column('guidance_matched', sa.Boolean(), nullable=True),
    sa.Column('opinion_verbatim', sa.Boolean(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('callback_outcome', sa.String(length=16), nullable=True),
    sa.Column('callback_note', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['caller_id'], ['user.id'], name=op.f('fk_qc_review_caller_id_user')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_qc_review_hospital_id_hospital')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], name=op.f('fk_qc_review_reviewed_by_id_user')),
    sa.ForeignKeyConstraint(['sample_id'], ['qc_sample.id'], name=op.f('fk_qc_review_sample_id_qc_sample'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['followup_task.id'], name=op.f('fk_qc_review_task_id_followup_task')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_qc_review_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_review')),
    sa.UniqueConstraint('sample_id', 'task_id', name=op.f('uq_qc_review_sample_id_task_id'))
    )
    with op.batch_alter_table('qc_review', schema=None) as batch_op:
        batch_op.create_index('ix_qc_review_sample_caller', ['sample_id', 'caller_id'], unique=False)



def downgrade():
    with op.batch_alter_table('qc_review', schema=None) as batch_op:
        batch_op.drop_index('ix_qc_review_sample_caller')

    op.drop_table('qc_review')
    op.drop_table('score_weights')
    op.drop_table('qc_sample')
    op.drop_table('qc_policy')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_read')

    op.drop_table('notification')
    op.drop_table('escalation_policy')
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_step_hospital_at')

    op.drop_table('escalation_step')
    op.drop_table('commission_snapshot')
