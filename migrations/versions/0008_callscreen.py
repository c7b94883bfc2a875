"""callscreen: red-flag alerts raised on ward-level calls

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-25 17:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('red_flag_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('doctor', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ack_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user.id'], name=op.f('fk_red_flag_alert_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['followup_id'], ['ward_followup.id'], name=op.f('fk_red_flag_alert_followup_id_ward_followup'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'], name=op.f('fk_red_flag_alert_hospital_id_hospital')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user.id'], name=op.f('fk_red_flag_alert_raised_by_id_user')),
    sa.ForeignKeyConstraint(['task_id'], ['followup_task.id'], name=op.f('fk_red_flag_alert_task_id_followup_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_red_flag_alert_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_flag_alert')),
    sa.UniqueConstraint('task_id', name=op.f('uq_red_flag_alert_task_id'))
    )
    with op.batch_alter_table('red_flag_alert', schema=None) as batch_op:
        batch_op.create_index('ix_red_flag_alert_ward_ack', ['ward_id', 'acknowledged_at'], unique=False)


def downgrade():
    with op.batch_alter_table('red_flag_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_red_flag_alert_ward_ack')
    op.drop_table('red_flag_alert')
