"""Import progress per chunk (issue 15): when the current run began reading rows and from which
row, and when the last chunk was committed, so the page can say how fast it goes and how long
is left (a resumed run is timed from its own start, not the first run's).

Revision ID: 0022
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("run_rows_from", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_column("progress_at")
        batch_op.drop_column("run_rows_from")
        batch_op.drop_column("run_started_at")
