"""A follow-up task has one foreign key, (discharge_id, hospital_id) → the stay's (id, hospital_id),
instead of three (discharge, hospital, ward) checked row by row: the same guarantee for the
hospital (a task is in its stay's hospital, which the old keys did not even say), the ward derived
from the stay by every writer (issue 16 item 5; costs in bench/import_checks.py).

Revision ID: 0019b
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0019b"
down_revision = "0019"
branch_labels = None
depends_on = None


def _partial_indexes():
    """SQLite: the partial indexes of the tables, as created (batch mode rebuilds a table and
    may copy them without their WHERE)."""
    if op.get_bind().dialect.name != "sqlite":
        return []
    return op.get_bind().execute(sa.text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%' AND tbl_name IN "
        "('discharge', 'followup_task')")).all()


def _restore(indexes):
    for name, sql in indexes:
        op.execute(f'DROP INDEX IF EXISTS "{name}"')
        op.execute(sql)


def upgrade():
    partial = _partial_indexes()
    _upgrade()
    _restore(partial)


def downgrade():
    partial = _partial_indexes()
    _downgrade()
    _restore(partial)


def _upgrade():
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_discharge_id_hospital_id"), ["id", "hospital_id"])
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.drop_constraint("fk_followup_task_discharge_id_discharge", type_="foreignkey")
        batch_op.drop_constraint("fk_followup_task_hospital_id_hospital", type_="foreignkey")
        batch_op.drop_constraint("fk_followup_task_ward_id_ward", type_="foreignkey")
        batch_op.create_foreign_key(batch_op.f("fk_followup_task_discharge_id_discharge"), "discharge",
                                    ["discharge_id", "hospital_id"], ["id", "hospital_id"], ondelete="CASCADE")


def _downgrade():
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.drop_constraint("fk_followup_task_discharge_id_discharge", type_="foreignkey")
        batch_op.create_foreign_key(batch_op.f("fk_followup_task_discharge_id_discharge"), "discharge",
                                    ["discharge_id"], ["id"], ondelete="CASCADE")
        batch_op.create_foreign_key(batch_op.f("fk_followup_task_hospital_id_hospital"), "hospital",
                                    ["hospital_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_followup_task_ward_id_ward"), "ward", ["ward_id"], ["id"])
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_discharge_id_hospital_id"), type_="unique")
