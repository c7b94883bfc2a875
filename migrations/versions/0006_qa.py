"""qa: stored monthly summaries

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-25 17:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'monthly_summary',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hospital_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('generated_by_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['generated_by_id'], ['user.id'],
                                name=op.f('fk_monthly_summary_generated_by_id_user')),
        sa.ForeignKeyConstraint(['hospital_id'], ['hospital.id'],
                                name=op.f('fk_monthly_summary_hospital_id_hospital')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_summary')),
        sa.UniqueConstraint('hospital_id', 'month', name=op.f('uq_monthly_summary_hospital_id_month')),
    )


def downgrade():
    op.drop_table('monthly_summary')
