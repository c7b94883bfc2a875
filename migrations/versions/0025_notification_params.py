"""Notifications keep what they say as a kind and its parameters, so each reader sees the text in
their own language (the text column stays: the service language's wording, for older rows and
for the audit trail). A nullable column: release N's code writes rows without it.

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("params")
