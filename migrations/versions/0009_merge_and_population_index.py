"""Merge the feature branches; index a month's population and the hospital-level records by time.

Revision ID: 0009
Revises: 0003, 0004, 0005, 0006, 0007, 0008
"""
from alembic import op

revision = "0009"
down_revision = ("0003", "0004", "0005", "0006", "0007", "0008")
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.drop_index("ix_discharge_hospital_date")
        batch_op.create_index("ix_discharge_population",
                              ["hospital_id", "discharge_date", "disposition", "id"], unique=False)
    with op.batch_alter_table("hospital_followup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hospital_followup_recorded_at"), ["recorded_at"], unique=False)


def downgrade():
    with op.batch_alter_table("hospital_followup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hospital_followup_recorded_at"))
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.drop_index("ix_discharge_population")
        batch_op.create_index("ix_discharge_hospital_date", ["hospital_id", "discharge_date"], unique=False)
