"""Imports keep every stay and never stay stuck: tasks of a stay with no phone or no 离院方式 are
kept and marked `needs_data`; a failed batch keeps its reason with parameters (translated when
shown) and no longer owns its digest, so the same bytes sent again are a new try; a hospital's
own codes (its HIS's 离院方式 codes) map onto ours.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NOT_FAILED = "status <> 'failed'"


def upgrade():
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_data", sa.String(length=24), nullable=True))
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_reason", sa.JSON(), nullable=True))
        batch_op.drop_constraint("uq_import_batch_hospital_id_digest", type_="unique")
    # Outside the batch: a partial unique index (SQLite's batch mode would copy it without WHERE).
    op.create_index("uq_import_batch_hospital_id_digest", "import_batch", ["hospital_id", "digest"], unique=True,
                    postgresql_where=sa.text(NOT_FAILED), sqlite_where=sa.text(NOT_FAILED))
    op.create_table(
        "hospital_code_map",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("source_code", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospital.id"], name=op.f("fk_hospital_code_map_hospital_id_hospital")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospital_code_map")),
        sa.UniqueConstraint("hospital_id", "field", "source_code",
                            name=op.f("uq_hospital_code_map_hospital_id_field_source_code")),
    )
    with op.batch_alter_table("hospital_code_map", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hospital_code_map_hospital_id"), ["hospital_id"], unique=False)


def downgrade():
    with op.batch_alter_table("hospital_code_map", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hospital_code_map_hospital_id"))
    op.drop_table("hospital_code_map")
    op.drop_index("uq_import_batch_hospital_id_digest", table_name="import_batch")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_import_batch_hospital_id_digest", ["hospital_id", "digest"])
        batch_op.drop_column("error_reason")
    with op.batch_alter_table("followup_task", schema=None) as batch_op:
        batch_op.drop_column("needs_data")
