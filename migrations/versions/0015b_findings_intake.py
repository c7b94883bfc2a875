"""Findings flow back: per-hospital category routes (department, days to answer), each
department's monthly feedback notice and acknowledgement, and what an intake adds to a ledger
item (patient, channel, responsible person, evidence, reply to the patient, commission finding)
with its evidence files. New tables only: rectification_item itself is not rebuilt (on SQLite a
rebuild would cascade-delete its events).

Revision ID: 0015b
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015b'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('category_route',
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=True),
    sa.Column('due_days', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_category_route_hospital_id_hospital')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_category_route_ward_id_ward'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('hospital_id', 'category', name=op.f('pk_category_route'))
    )
    op.create_table('department_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user.id'], name=op.f('fk_department_feedback_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_department_feedback_hospital_id_hospital')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_department_feedback_ward_id_ward'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department_feedback')),
    sa.UniqueConstraint('ward_id', 'month', name=op.f('uq_department_feedback_ward_id_month'))
    )
    with op.batch_alter_table('department_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_feedback_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('item_case',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('discharge_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=24), nullable=True),
    sa.Column('category', sa.String(length=24), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('evidence_text', sa.Text(), nullable=False),
    sa.Column('reply_by_id', sa.Integer(), nullable=True),
    sa.Column('reply_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=False),
    sa.Column('reply_satisfaction', sa.String(length=16), nullable=True),
    sa.Column('commission_region_id', sa.Integer(), nullable=True),
    sa.Column('sampled_record_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['commission_region_id'], ['region.id'], name=op.f('fk_item_case_commission_region_id_region')),
    sa.ForeignKeyConstraint(['discharge_id'], ['discharge.id'], name=op.f('fk_item_case_discharge_id_discharge')),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], name=op.f('fk_item_case_item_id_rectification_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reply_by_id'], ['user.id'], name=op.f('fk_item_case_reply_by_id_user')),
    sa.ForeignKeyConstraint(['responsible_id'], ['user.id'], name=op.f('fk_item_case_responsible_id_user')),
    sa.ForeignKeyConstraint(['sampled_record_id'], ['sampled_record.id'], name=op.f('fk_item_case_sampled_record_id_sampled_record')),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_item_case')),
    sa.UniqueConstraint('sampled_record_id', name=op.f('uq_item_case_sampled_record_id'))
    )
    with op.batch_alter_table('item_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_case_commission_region_id'), ['commission_region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_case_discharge_id'), ['discharge_id'], unique=False)

    op.create_table('item_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], name=op.f('fk_item_evidence_item_id_rectification_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_item_evidence_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_evidence')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_item_evidence_storage_key'))
    )
    with op.batch_alter_table('item_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_evidence_item_id'), ['item_id'], unique=False)



def downgrade():
    with op.batch_alter_table('item_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_evidence_item_id'))

    op.drop_table('item_evidence')
    with op.batch_alter_table('item_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_case_discharge_id'))
        batch_op.drop_index(batch_op.f('ix_item_case_commission_region_id'))

    op.drop_table('item_case')
    with op.batch_alter_table('department_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_department_feedback_hospital_id'))

    op.drop_table('department_feedback')
    op.drop_table('category_route')
