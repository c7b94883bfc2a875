"""patient records: who answered and the call's duration on every saved form; follow-up plans
(随访方案) and their records; tasks get a kind (mandatory | plan | review) and the plan step, and
the one-task-per-level rule holds for the mandatory tasks only.

Revision ID: 0014
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def _facts():
    return [sa.Column("respondent", sa.String(length=8), server_default="patient", nullable=False),
            sa.Column("respondent_relation", sa.String(length=32), server_default="", nullable=False),
            sa.Column("duration_seconds", sa.Integer(), nullable=True),
            sa.Column("duration_source", sa.String(length=12), nullable=True)]


def _where(cond):
    return {"postgresql_where": sa.text(cond), "sqlite_where": sa.text(cond)}


def upgrade():
    for table in ("ward_followup", "hospital_followup"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for col in _facts():
                batch_op.add_column(col)
    op.create_table(
        "followup_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column("icd_prefix", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("deadline_days", sa.SmallInteger(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_followup_plan_created_by_id_user")),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"], name=op.f("fk_followup_plan_hospital_id_hospital")),
        sa.ForeignKeyConstraint(["ward_id"], ["ward.id"], name=op.f("fk_followup_plan_ward_id_ward")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_plan")),
    )
    with op.batch_alter_table("followup_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_plan_hospital_id"), ["hospital_id"], unique=False)
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=12), server_default="mandatory", nullable=False))
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_day", sa.SmallInteger(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_followup_task_plan_id_followup_plan"), "followup_plan",
                                    ["plan_id"], ["id"], ondelete="CASCADE")
        batch_op.drop_constraint("uq_followup_task_discharge_id_level", type_="unique")
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.create_index("uq_followup_task_mandatory", ["discharge_id", "level"], unique=True,
                              **_where("kind = 'mandatory'"))
        batch_op.create_index("uq_followup_task_plan_step", ["discharge_id", "plan_id", "plan_day"], unique=True,
                              **_where("plan_id IS NOT NULL"))
        batch_op.create_index("uq_followup_task_review", ["discharge_id"], unique=True, **_where("kind = 'review'"))
    op.create_table(
        "plan_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("next_visit_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_facts(),
        sa.ForeignKeyConstraint(["attempt_id"], ["call_attempt.id"], name=op.f("fk_plan_record_attempt_id_call_attempt")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name=op.f("fk_plan_record_recorded_by_id_user")),
        sa.ForeignKeyConstraint(["task_id"], ["followup_task.id"], name=op.f("fk_plan_record_task_id_followup_task"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_record")),
        sa.UniqueConstraint("task_id", name=op.f("uq_plan_record_task_id")),
    )


def downgrade():
    op.drop_table("plan_record")
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.drop_index("uq_followup_task_review")
        batch_op.drop_index("uq_followup_task_plan_step")
        batch_op.drop_index("uq_followup_task_mandatory")
    op.execute("DELETE FROM followup_task WHERE kind <> 'mandatory'")
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_followup_task_discharge_id_level", ["discharge_id", "level"])
        batch_op.drop_constraint("fk_followup_task_plan_id_followup_plan", type_="foreignkey")
        batch_op.drop_column("plan_day")
        batch_op.drop_column("plan_id")
        batch_op.drop_column("kind")
    op.drop_table("followup_plan")
    for table in ("hospital_followup", "ward_followup"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ("duration_source", "duration_seconds", "respondent_relation", "respondent"):
                batch_op.drop_column(name)
