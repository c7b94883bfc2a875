"""Merge this round's parallel branches into one head: a stay with a malformed ID number kept
and one key from a task to its stay (0019, 0019b), the audit log partitioned by month on
PostgreSQL (0020), import progress timing (0022), tasks indexed by discharge (0023). Each
branch changes different tables or columns.

Revision ID: 0024
Revises: 0019b, 0020, 0022, 0023
"""

revision = "0024"
down_revision = ("0019b", "0020", "0022", "0023")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
