"""Tasks by their discharge: an index on followup_task.discharge_id.

Pacing and "one caller per patient" read the patient's tasks through the patient's stays
(discharge.patient_id → followup_task.discharge_id) on every dial. The only indexes starting
with discharge_id were partial (mandatory tasks, plan steps, review reminders), which a query
over all of a patient's tasks cannot use: each dial sequentially scanned the task table
(~40 ms at 115k tasks). One plain index entry per task; bulk imports pay for it.

Revision ID: 0023
Revises: 0018
"""
from alembic import op

revision = "0023"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.create_index("ix_task_discharge_id", ["discharge_id"], unique=False)


def downgrade():
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_discharge_id")
