"""Departments as they are: a ward's kind is 'clinical' (discharges patients) or 'functional'
(职能科室: 收费处, 医务科 ... answer opinions and ledger items only); the column exists since 0002,
this makes the two values the only ones the database accepts.

Revision ID: 0015
Revises: 0010
"""
from alembic import op

revision = "0015"
down_revision = "0010"
branch_labels = None
depends_on = None


# SQLite cannot add a CHECK without rebuilding the table, and rebuilding `ward` with foreign keys
# on deletes every user_ward row (ON DELETE CASCADE): there the model's default and the
# departments module are the guard.


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_ward_kind"), "ward", "kind IN ('clinical', 'functional')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_ward_kind", "ward", type_="check")
