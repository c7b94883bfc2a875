"""Long work out of requests: the work_request progress row (draws, exports of large months),
and the request id on outbox jobs so a job logs under the request that caused it.

Backward compatible for one release: both changes only add (a new table, a nullable column);
the previous release's code runs unchanged against this schema.

Revision ID: 0017
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_table(
        "work_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("result_sample_id", sa.Integer(), nullable=True),
        sa.Column("result_name", sa.String(length=255), nullable=True),
        sa.Column("result_mimetype", sa.String(length=128), nullable=True),
        sa.Column("result_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_work_request_created_by_id_user")),
        sa.ForeignKeyConstraint(["result_sample_id"], ["audit_sample.id"],
                                name=op.f("fk_work_request_result_sample_id_audit_sample")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_request")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_work_request_dedupe_key")),
    )
    with op.batch_alter_table("work_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_request_created_by_id"), ["created_by_id"], unique=False)


def downgrade():
    with op.batch_alter_table("work_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_request_created_by_id"))
    op.drop_table("work_request")
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.drop_column("request_id")
