"""Merge this round's parallel branches into one head: imports that keep every stay (0011), job
leases and signed audit anchors (0012), patient outcomes (0013), plans and read-back (0014),
departments and findings (0015, 0015b), escalation, quality control and scoring (0016), long
work as jobs with request ids (0017). Each branch changes different tables or columns.

Revision ID: 0018
Revises: 0011, 0012, 0013, 0014, 0015b, 0016, 0017
"""

revision = "0018"
down_revision = ("0011", "0012", "0013", "0014", "0015b", "0016", "0017")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
