"""Job leases and signed audit anchors.

An outbox row that is running carries a lease (`lease_until`, renewed by a heartbeat from the
running process) and the token of the run that holds it (`lease_token`), so the reconciler can
re-drive a job whose runner died within seconds of the lease lapsing instead of after a fixed
stale threshold, and a run that lost its lease cannot mark the row done. Audit anchors carry an
HMAC (`mac`) under the audit key, which the database does not hold, so an inserted or edited
anchor is detected.

Revision ID: 0012
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.drop_column("mac")
    with op.batch_alter_table("outbox_job", schema=None) as batch_op:
        batch_op.drop_column("lease_token")
        batch_op.drop_column("lease_until")
