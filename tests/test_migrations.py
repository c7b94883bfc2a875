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


def _the_head() -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_current_head()


def test_0019_down_and_up_keep_every_stay_and_task(world, db):
    """0019/0019b (malformed ID numbers kept; one key from a task to its stay) go down to 0018 and
    up again on a database holding stays and tasks, which all survive. On SQLite batch mode
    rebuilds tables by DROP and rename; with foreign keys on, the DROP would delete (CASCADE) or
    refuse the rows that reference them, so the migrations run with them off and check after."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func, select, text
    from followup.models import Discharge, FollowupTask
    from tests.import_files import csv_bytes, imported, row
    imported(world, csv_bytes([row(no="MG1"), row(no="MG2", id_number="371502196005010013")]))

    def counts():
        with db.engine.connect() as conn:
            return (conn.scalar(select(func.count()).select_from(Discharge.__table__)),
                    conn.scalar(select(func.count()).select_from(FollowupTask.__table__)))
    assert counts() == (2, 4)
    db.session.remove()
    db.engine.dispose()
    try:
        downgrade(revision="0018")
        assert counts() == (2, 4)
    finally:
        upgrade(revision="heads")
    assert counts() == (2, 4)
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == _the_head()
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again for the app
            mandatory = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'uq_followup_task_mandatory'"))
            assert "WHERE" in mandatory  # the partial unique index kept its condition
