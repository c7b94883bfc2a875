"""The database role the app connects as: owns nothing, reads and writes the business tables,
may only INSERT (and read) the audit log, and cannot write retention anchors or the migration
version. Migrations, and the audit retention purge, run as the owner. The audit log's monthly
partitions are reached only through audit_event; the role may make next month's partition through
audit_event_add_partition (SECURITY DEFINER), nothing else."""

APPEND_ONLY = ("audit_event",)                 # SELECT, INSERT
READ_ONLY = ("audit_anchor", "alembic_version")  # SELECT


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def app_role_sql(role: str, database: str, schema: str = "public", password: str | None = None) -> list[str]:
    """Statements for the owner (or a superuser) to run, again after every migration (new
    tables). Idempotent."""
    r, s = _q(role), _q(schema)
    login = "LOGIN" + (f" PASSWORD '{password.replace(chr(39), chr(39) * 2)}'" if password else "")
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role.replace(chr(39), chr(39) * 2)}') "
        f"THEN CREATE ROLE {r} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT; END IF; END $$",
        f"GRANT CONNECT ON DATABASE {_q(database)} TO {r}",
        f"REVOKE CREATE ON SCHEMA {s} FROM {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        *(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {s}.{_q(t)} FROM {r}"
          for t in APPEND_ONLY + READ_ONLY),
        *(f"GRANT INSERT ON {s}.{_q(t)} TO {r}" for t in APPEND_ONLY),
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        # The audit log's monthly partitions (PostgreSQL, migration 0020) are reached through
        # audit_event only: no right on a partition itself, which ALL TABLES above granted.
        "DO $$ DECLARE p regclass; BEGIN FOR p IN SELECT inhrelid::regclass FROM pg_inherits "
        f"WHERE inhparent = to_regclass(format('%I.audit_event', {_lit(schema)})) "
        f"LOOP EXECUTE format('REVOKE ALL ON %s FROM %I', p, {_lit(role)}); END LOOP; END $$",
        # ... and it may make next month's partition through the one function that does only that.
        f"DO $$ BEGIN IF to_regprocedure(format('%I.audit_event_add_partition(date)', {_lit(schema)})) "
        "IS NOT NULL THEN "
        f"EXECUTE format('GRANT EXECUTE ON FUNCTION %I.audit_event_add_partition(date) TO %I', "
        f"{_lit(schema)}, {_lit(role)}); END IF; END $$",
    ]


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
