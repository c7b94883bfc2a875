"""call queues: callback time and at-risk flag on tasks, head-nurse flag on users, watch indexes

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-25 17:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('followup_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callback_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('at_risk_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_task_status_claimed_at', ['status', 'claimed_at'], unique=False)
        batch_op.create_index('ix_task_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_task_callback_at', ['callback_at'], unique=False)
        # The queue indexes gain id: "next call" orders by (due_at, id) and must stop at the first
        # free row, and a day's discharges share one deadline.
        batch_op.drop_index('ix_task_queue_hospital')
        batch_op.drop_index('ix_task_queue_ward')
        batch_op.create_index('ix_task_queue_hospital', ['hospital_id', 'level', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_task_queue_ward', ['ward_id', 'level', 'status', 'due_at', 'id'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_head_nurse', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('is_head_nurse')

    with op.batch_alter_table('followup_task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_queue_ward')
        batch_op.drop_index('ix_task_queue_hospital')
        batch_op.create_index('ix_task_queue_ward', ['ward_id', 'level', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_task_queue_hospital', ['hospital_id', 'level', 'status', 'due_at'], unique=False)
        batch_op.drop_index('ix_task_callback_at')
        batch_op.drop_index('ix_task_status_due_at')
        batch_op.drop_index('ix_task_status_claimed_at')
        batch_op.drop_column('at_risk_at')
        batch_op.drop_column('callback_at')
