"""Patient-level outcomes and search: patient marks (deceased, do-not-call) with the task that a
mark closed, a blind index of every phone number, full pinyin of names, search indexes, and
per-hospital call settings.

Existing patients get their pinyin and phone index from `flask followup reindex-patients` (the
keys needed to read their numbers are not available to a migration).

Revision ID: 0013
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

ACTIVE = sa.text("lifted_at IS NULL")


def upgrade():
    op.create_table(
        "patient_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("shown_as", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"], name=op.f("fk_patient_mark_hospital_id_hospital")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_patient_mark_patient_id_patient")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_patient_mark_created_by_id_user")),
        sa.ForeignKeyConstraint(["lifted_by_id"], ["user.id"], name=op.f("fk_patient_mark_lifted_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_mark")),
    )
    with op.batch_alter_table("patient_mark", schema=None) as b:
        b.create_index("ix_patient_mark_patient", ["patient_id"], postgresql_where=ACTIVE, sqlite_where=ACTIVE)
        b.create_index("ix_patient_mark_id_hash", ["id_number_hash"], postgresql_where=ACTIVE, sqlite_where=ACTIVE)
        b.create_index("ix_patient_mark_hospital", ["hospital_id", "kind", "created_at"])
    op.create_table(
        "patient_phone",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_patient_phone_patient_id_patient"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patient_id", "phone_hash", name=op.f("pk_patient_phone")),
    )
    with op.batch_alter_table("patient_phone", schema=None) as b:
        b.create_index("ix_patient_phone_lookup", ["hospital_id", "phone_hash"])
        b.create_index("ix_patient_phone_last4", ["hospital_id", "last4"])
    with op.batch_alter_table("patient", schema=None) as b:
        b.add_column(sa.Column("name_pinyin", sa.String(length=96), nullable=False, server_default=""))
        for col in ("name", "name_initials", "name_pinyin"):
            b.create_index(f"ix_patient_search_{col}", ["hospital_id", col],
                           postgresql_ops={col: "varchar_pattern_ops"})
    with op.batch_alter_table("followup_task", schema=None) as b:
        b.add_column(sa.Column("close_mark_id", sa.Integer(), nullable=True))
        b.create_foreign_key(op.f("fk_followup_task_close_mark_id_patient_mark"), "patient_mark",
                             ["close_mark_id"], ["id"])
        b.create_index("ix_task_close_mark", ["close_mark_id"], postgresql_where=sa.text("close_mark_id IS NOT NULL"),
                       sqlite_where=sa.text("close_mark_id IS NOT NULL"))
    with op.batch_alter_table("hospital", schema=None) as b:
        b.add_column(sa.Column("calling_hours", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("retry_minutes", sa.Integer(), nullable=True))
        b.add_column(sa.Column("max_attempts_per_day", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("hospital", schema=None) as b:
        b.drop_column("max_attempts_per_day")
        b.drop_column("retry_minutes")
        b.drop_column("calling_hours")
    with op.batch_alter_table("followup_task", schema=None) as b:
        b.drop_index("ix_task_close_mark")
        b.drop_constraint(op.f("fk_followup_task_close_mark_id_patient_mark"), type_="foreignkey")
        b.drop_column("close_mark_id")
    with op.batch_alter_table("patient", schema=None) as b:
        for col in ("name", "name_initials", "name_pinyin"):
            b.drop_index(f"ix_patient_search_{col}")
        b.drop_column("name_pinyin")
    op.drop_table("patient_phone")
    op.drop_table("patient_mark")
