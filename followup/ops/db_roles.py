"""The database role the app connects as: owns nothing, reads and writes the business tables,
may only INSERT (and read) the audit log, and cannot write retention anchors or the migration
version. Migrations, and the audit retention purge, run as the owner."""

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
    ]
