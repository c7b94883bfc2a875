"""The migrations build the schema from empty, and they agree with the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from followup.extensions import db
from followup.ops.partitions import is_partition_name


def test_models_and_migrations_agree(app):
    # The session fixture built this database with `flask db upgrade` (all heads).
    with db.engine.connect() as conn:
        # The audit log's monthly partitions are made at run time, not by the models (0020).
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, type_, parents: not (type_ == "table" and is_partition_name(name))})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models differ from migrations; run flask db migrate: {diff}"


def test_schema_has_the_core_tables(app):
    names = set(db.inspect(db.engine).get_table_names())
    assert {"region", "hospital", "ward", "user", "patient", "discharge", "followup_task",
            "audit_event", "outbox_job", "alembic_version"} <= names
