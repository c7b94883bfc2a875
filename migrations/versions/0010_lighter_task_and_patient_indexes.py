"""Lighter indexes for bulk imports: the task indexes on columns a new task leaves empty
(callback time, claim time, assignee) become partial; the patient index on hospital_id alone
goes (the (hospital_id, id_number_hash) index serves the same lookups), and so does the
discharge index on import_batch_id, which no query reads.

Each new task used to add an entry to all three; the queries that read them always name a
value, so the partial indexes serve them as before.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PARTIAL = [("ix_task_callback_at", ["callback_at"], "callback_at IS NOT NULL"),
           ("ix_task_status_claimed_at", ["status", "claimed_at"], "claimed_at IS NOT NULL"),
           ("ix_followup_task_assigned_to_id", ["assigned_to_id"], "assigned_to_id IS NOT NULL")]


def upgrade():
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        for name, columns, where in PARTIAL:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False, postgresql_where=sa.text(where),
                                  sqlite_where=sa.text(where))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_hospital_id")
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.drop_index("ix_discharge_import_batch_id")


def downgrade():
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.create_index("ix_discharge_import_batch_id", ["import_batch_id"], unique=False)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_hospital_id", ["hospital_id"], unique=False)
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        for name, columns, _where in PARTIAL:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
