"""A row whose ID number is malformed is kept, not rejected (issue 17): the number is set aside on
the stay (encrypted, with the reason) for the ward to correct; the batch counts the rows it kept
with a warning, and a kept row's note sits beside the rejected rows (`kept`).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ID_ISSUE = "id_number_issue IS NOT NULL"


def upgrade():
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_raw", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("id_number_issue", sa.String(length=128), nullable=True))
    # Outside the batch: a partial index (SQLite's batch mode would copy it without WHERE).
    op.create_index("ix_discharge_id_number_issue", "discharge", ["ward_id"],
                    postgresql_where=sa.text(ID_ISSUE), sqlite_where=sa.text(ID_ISSUE))
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warned", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("import_rejected_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kept", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("import_rejected_row", schema=None) as batch_op:
        batch_op.drop_column("kept")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_column("warned")
    op.drop_index("ix_discharge_id_number_issue", table_name="discharge")
    with op.batch_alter_table("discharge", schema=None) as batch_op:
        batch_op.drop_column("id_number_issue")
        batch_op.drop_column("id_number_raw")
