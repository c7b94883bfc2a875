"""audit_event partitioned by month on PostgreSQL (SQLite keeps the plain table)

Why this table and not the others (docs/scale.md, "Monthly partitions", has the figures): the
audit log is append-only, grows with every view and change, is read by month (the audit log
page, the monthly checks) and is retained by age. Partitioned by local (Asia/Shanghai) month of
`at`, a month's read touches one partition and retention drops whole months instead of
deleting millions of rows through the append-only trigger. Nothing references audit_event by
a foreign key, so the partition key can join the primary key: (id, at); ids still come from the
one sequence, in chain order. call_attempt, followup_task and discharge stay plain: they are
read by task or discharge id across months and are referenced by foreign keys on id.

Partitions: `audit_event_YYYY_MM` for [local midnight of the 1st, local midnight of the next
1st), created by `audit_event_add_partition(date)`; `audit_event_default` takes a row of any
month with no partition yet, so an insert never fails, and the function moves such rows into
the month's partition when it creates it. The function is SECURITY DEFINER (runs as the owner)
so the app's role, which may create nothing (`flask followup db-roles`), can still make next
month's partition from the daily job; EXECUTE is granted to that role by db-roles only.

The upgrade rewrites the table (copy in id order): on a large log run it in a maintenance
window. Grants on the old table are carried over; the append-only trigger is recreated on the
parent, which clones it onto every partition.

Revision ID: 0020
Revises: 0018
"""
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2  # as followup.ops.partitions.MONTHS_AHEAD (copied: migrations import no app code)

ADD_PARTITION = """
CREATE OR REPLACE FUNCTION audit_event_add_partition(month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE
  first_day date := date_trunc('month', month)::date;
  lo timestamptz := first_day::timestamp AT TIME ZONE 'Asia/Shanghai';
  hi timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai';
  part text := 'audit_event_' || to_char(first_day, 'YYYY_MM');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN part;
  END IF;
  -- One creator at a time; inserts wait the few milliseconds this takes.
  LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE;
  IF to_regclass(part) IS NOT NULL THEN
    RETURN part;
  END IF;
  IF EXISTS (SELECT 1 FROM audit_event_default WHERE at >= lo AND at < hi) THEN
    -- Rows of this month arrived before its partition: move them out of the default one.
    -- Detached, the default partition loses the cloned append-only trigger, which comes back
    -- on ATTACH; the rows are moved, not changed (same ids, same hashes).
    ALTER TABLE audit_event DETACH PARTITION audit_event_default;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    EXECUTE format('INSERT INTO %I SELECT * FROM audit_event_default WHERE at >= $1 AND at < $2', part)
      USING lo, hi;
    DELETE FROM audit_event_default WHERE at >= lo AND at < hi;
    ALTER TABLE audit_event ATTACH PARTITION audit_event_default DEFAULT;
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  END IF;
  RETURN part;
END $fn$
"""

TRIGGER = ("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
           "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
INDEXES = ("CREATE INDEX ix_audit_event_action ON audit_event (action)",
           "CREATE INDEX ix_audit_event_at ON audit_event (at)",
           "CREATE INDEX ix_audit_event_user_id ON audit_event (user_id)")
FOREIGN_KEY = ('ALTER TABLE audit_event ADD CONSTRAINT fk_audit_event_user_id_user '
               'FOREIGN KEY (user_id) REFERENCES "user" (id)')


def _grants(table: str) -> list[tuple[str, str]]:
    rows = op.get_bind().exec_driver_sql(
        "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
        "WHERE table_schema = current_schema() AND table_name = %(t)s AND grantee <> current_user",
        {"t": table}).all()
    return [(r.grantee, r.privilege_type) for r in rows]


def _regrant(grants, table: str = "audit_event") -> None:
    for grantee, privilege in grants:
        to = "PUBLIC" if grantee == "PUBLIC" else '"' + grantee.replace('"', '""') + '"'
        op.execute(f'GRANT {privilege} ON "{table}" TO {to}')


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar()
    grants = _grants("audit_event")
    seq = bind.exec_driver_sql("SELECT pg_get_serial_sequence('audit_event', 'id')").scalar()
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_unpartitioned")
    op.execute("DROP TRIGGER audit_event_append_only ON audit_event_unpartitioned")
    op.execute("ALTER TABLE audit_event_unpartitioned DROP CONSTRAINT fk_audit_event_user_id_user")
    op.execute("ALTER TABLE audit_event_unpartitioned RENAME CONSTRAINT pk_audit_event TO pk_audit_event_unpartitioned")
    op.execute("DROP INDEX ix_audit_event_action, ix_audit_event_at, ix_audit_event_user_id")
    # LIKE copies the columns, their types, NOT NULLs and defaults (id's nextval on the same sequence).
    op.execute("CREATE TABLE audit_event (LIKE audit_event_unpartitioned INCLUDING DEFAULTS) "
               "PARTITION BY RANGE (at)")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT pk_audit_event PRIMARY KEY (id, at)")
    op.execute(FOREIGN_KEY)
    for sql in INDEXES:
        op.execute(sql)
    op.execute("CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT")
    op.execute(ADD_PARTITION.format(schema=f'"{schema}"'))
    op.execute("REVOKE EXECUTE ON FUNCTION audit_event_add_partition(date) FROM PUBLIC")
    # A partition for every local month that has events, and for this month and the next ones.
    op.execute(f"""
        SELECT audit_event_add_partition(m::date) FROM (
            SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'Asia/Shanghai') AS m FROM audit_event_unpartitioned
            UNION
            SELECT date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') + k * interval '1 month'
            FROM generate_series(0, {MONTHS_AHEAD}) AS k
        ) AS months ORDER BY m""")
    op.execute("INSERT INTO audit_event SELECT * FROM audit_event_unpartitioned ORDER BY id")
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY audit_event.id")
    op.execute("DROP TABLE audit_event_unpartitioned")
    op.execute(TRIGGER)
    _regrant(grants)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    grants = _grants("audit_event")
    seq = bind.exec_driver_sql("SELECT pg_get_serial_sequence('audit_event', 'id')").scalar()
    op.execute("CREATE TABLE audit_event_plain (LIKE audit_event INCLUDING DEFAULTS)")
    op.execute("INSERT INTO audit_event_plain SELECT * FROM audit_event ORDER BY id")
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY audit_event_plain.id")
    op.execute("DROP TABLE audit_event")  # the partitions go with it
    op.execute("DROP FUNCTION audit_event_add_partition(date)")
    op.execute("ALTER TABLE audit_event_plain RENAME TO audit_event")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT pk_audit_event PRIMARY KEY (id)")
    op.execute(FOREIGN_KEY)
    for sql in INDEXES:
        op.execute(sql)
    op.execute(TRIGGER)
    _regrant(grants)
