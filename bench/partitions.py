"""Benchmark of monthly partitions on PostgreSQL: the audit log as migration 0020 makes it
(partitioned by local month) against the same rows in one plain table, and a call_attempt-shaped
table partitioned the same way against a plain one, at three history lengths (1×/2×/4×).

    .venv/bin/python bench/partitions.py                          # 6/12/24 months of 125k events
    .venv/bin/python bench/partitions.py --months 3,6,12 --month-rows 50000

A scratch database (dropped and rebuilt) gets the real schema (`flask db upgrade`, so the
partitioned audit_event, its default partition and audit_event_add_partition are the shipped
ones) and beside it `audit_plain`: the same columns, primary key (id), the same indexes and the
append-only trigger, as before 0020. Months are loaded oldest first, ids rising with time, the
newest 7 months back (so every loaded row is past the 180-day floor and retention may remove
it); each size adds months to the last. Attempts: `attempt_plain` and `attempt_monthly`
(task_id, at, outcome; index (task_id, at)), each task's 1-2 attempts in one month.

Timed at each size, both tables, in the same run (milliseconds; percentiles nearest-rank,
bench/percentile.py; "median of k" where a step is repeated k times):
- LIMIT: `SELECT 1` round trip (the floor of every figure);
- head: the chain's head, `SELECT hash … ORDER BY id DESC LIMIT 1` (what every audited commit
  reads under the chain lock), prepared, as the app's driver prepares repeated statements;
- insert: one event inserted and committed;
- month page: the audit log page for one local month (`WHERE at in month ORDER BY id DESC
  LIMIT 50`), for the newest month and for the middle one; month count: rows per action in the
  middle month;
- retention: removing the oldest month: DELETE of its rows through the trigger (as the purge did)
  vs DROP of its partition after counting it (as the purge now does), each in a transaction
  rolled back, so every size keeps its data;
- a task's attempts (`WHERE task_id = ? ORDER BY at, id`), the read every call_attempt query is.
With --migration-rows N, also times migration 0020 itself on a log of N events (another scratch
database). Prints the load average beside each size: the machine is shared."""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]  # bench/queue.py shadows `queue`
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench.percentile import percentile  # noqa: E402
from bench.scratch import scratch_app  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/followup_bench_partitions"
ACTIONS = ["pii.view", "call.open", "call.attempt", "call.record", "auth.login", "task.assign",
           "import.batch", "report.view"]


def months_back(first: date, k: int) -> date:
    y, m = divmod(first.year * 12 + first.month - 1 - k, 12)
    return date(y, m + 1, 1)


def time_migration(url: str, rows: int) -> None:
    """Migration 0020 on a log of `rows` events: the copy into the partitioned table is the whole
    cost, and inserts wait for it (it holds audit_event's lock to the end)."""
    import psycopg
    app = recreate(url, revision="0018")
    with psycopg.connect(url) as conn:
        conn.execute("""
            INSERT INTO audit_event (at, username, action, object_type, ip, detail, prev_hash, hash)
            SELECT now() - interval '400 days' * (1 - g::float8 / %(n)s), 'user' || mod(g, 300), 'pii.view',
                   'task', '10.0.0.1', '{}'::json, md5(g::text) || md5((g + 1)::text), md5((g + 7)::text) || md5(g::text)
            FROM generate_series(0, %(n)s - 1) AS g""", {"n": rows})
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE audit_event")
    load = os.getloadavg()[0]
    with app.app_context():
        from flask_migrate import upgrade
        from followup.extensions import db
        t0 = time.perf_counter()
        upgrade(revision="0020")
        took = time.perf_counter() - t0
        db.engine.dispose()
    with psycopg.connect(url) as conn:
        parts = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_event'::regclass").fetchone()[0]
        moved = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    print(f"migration 0020 on {rows:,} events over 400 days: {took:.1f} s ({moved:,} rows into {parts} partitions); "
          f"load average {load:.1f} → {os.getloadavg()[0]:.1f}", flush=True)


def recreate(url: str, revision: str = "heads"):
    return scratch_app(url, fresh=True, key=b"p", revision=revision)


TWINS = """
CREATE TABLE audit_plain (LIKE audit_event INCLUDING DEFAULTS);
ALTER TABLE audit_plain ADD PRIMARY KEY (id);
CREATE INDEX ON audit_plain (action); CREATE INDEX ON audit_plain (at); CREATE INDEX ON audit_plain (user_id);
CREATE TRIGGER audit_plain_append_only BEFORE UPDATE OR DELETE ON audit_plain
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TABLE attempt_plain (id bigserial PRIMARY KEY, task_id int NOT NULL, at timestamptz NOT NULL, outcome text);
CREATE INDEX ON attempt_plain (task_id, at);
CREATE TABLE attempt_monthly (id bigserial, task_id int NOT NULL, at timestamptz NOT NULL, outcome text,
    PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE INDEX ON attempt_monthly (task_id, at);
CREATE TABLE attempt_monthly_default PARTITION OF attempt_monthly DEFAULT;
"""


def bounds(conn, first: date):
    return conn.execute("SELECT %s::timestamp AT TIME ZONE 'Asia/Shanghai', "
                        "(%s::date + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'",
                        (first, first)).fetchone()


def load_month(conn, first: date, index: int, rows: int) -> None:
    """One local month: `rows` audit events (both tables) and as many attempts (both tables)."""
    lo, hi = bounds(conn, first)
    conn.execute("SELECT audit_event_add_partition(%s)", (first,))
    conn.execute(f"""
        INSERT INTO audit_event (at, user_id, username, action, object_type, object_id, ip, detail, prev_hash, hash)
        SELECT %(lo)s + (%(hi)s - %(lo)s) * (g::float8 / %(n)s), NULL, 'user' || mod(g, 300),
               (%(actions)s::text[])[1 + mod(g, {len(ACTIONS)})], 'task', g, '10.0.0.1', '{{}}'::json,
               md5(g::text) || md5((g + 1)::text), md5((g + 7)::text) || md5((g + 3)::text)
        FROM generate_series(0, %(n)s - 1) AS g""", {"lo": lo, "hi": hi, "n": rows, "actions": ACTIONS})
    conn.execute("INSERT INTO audit_plain SELECT * FROM audit_event WHERE at >= %s AND at < %s ORDER BY id", (lo, hi))
    conn.execute(f"CREATE TABLE attempt_monthly_{first:%Y_%m} PARTITION OF attempt_monthly "
                 f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')")
    tasks = rows * 2 // 3  # 1.5 attempts per task
    conn.execute("""
        INSERT INTO attempt_monthly (task_id, at, outcome)
        SELECT %(base)s + mod(g, %(tasks)s), %(lo)s + (%(hi)s - %(lo)s) * (g::float8 / %(n)s),
               CASE WHEN mod(g, 3) = 0 THEN 'no_answer' ELSE 'answered' END
        FROM generate_series(0, %(n)s - 1) AS g""",
                 {"base": index * tasks, "tasks": tasks, "lo": lo, "hi": hi, "n": rows})
    conn.execute("INSERT INTO attempt_plain (task_id, at, outcome) SELECT task_id, at, outcome FROM attempt_monthly "
                 "WHERE at >= %s AND at < %s ORDER BY id", (lo, hi))
    conn.commit()


def timed(conn, sql, params=(), n=1, prepare=None, commit=False) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        cur = conn.execute(sql, params, prepare=prepare)
        if cur.description:
            cur.fetchall()
        if commit:
            conn.commit()
        out.append((time.perf_counter() - t0) * 1000)
    if not commit:
        conn.rollback()
    return out


def in_rolled_back_tx(conn, statements, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for sql in statements:
            cur = conn.execute(sql)
            if cur.description:
                cur.fetchall()
        out.append((time.perf_counter() - t0) * 1000)
        conn.rollback()
    return out


def measure(conn, months: list[date], rows: int, rng: random.Random, repeat: int) -> dict:
    r = {}
    pct = percentile
    floor = timed(conn, "SELECT 1", n=300, prepare=True)
    r["LIMIT: SELECT 1 round trip, p50 / p99"] = (f"{pct(floor, 50):.2f} / {pct(floor, 99):.2f}",) * 2
    for key, table in (("plain", "audit_plain"), ("part", "audit_event")):
        head = timed(conn, f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1", n=300, prepare=True)
        r.setdefault("chain head read, p50 / p99", [None, None])[key == "part"] = \
            f"{pct(head, 50):.2f} / {pct(head, 99):.2f}"
    for key, table in (("plain", "audit_plain"), ("part", "audit_event")):
        ins = timed(conn, f"INSERT INTO {table} (at, username, action, object_type, ip, detail, prev_hash, hash) "
                    "VALUES (now(), 'bench', 'bench.insert', '', '', '{}', '', '')", n=200, prepare=True, commit=True)
        r.setdefault("one event inserted + committed, p50 / p99", [None, None])[key == "part"] = \
            f"{pct(ins, 50):.2f} / {pct(ins, 99):.2f}"
    newest, middle, oldest = months[-1], months[len(months) // 2], months[0]
    for label, first in (("newest", newest), ("middle", middle)):
        lo, hi = bounds(conn, first)
        for key, table in (("plain", "audit_plain"), ("part", "audit_event")):
            t = timed(conn, f"SELECT id, at, username, action FROM {table} WHERE at >= %s AND at < %s "
                      "ORDER BY id DESC LIMIT 50", (lo, hi), n=repeat)
            r.setdefault(f"audit log page, {label} month (median of {repeat})", [None, None])[key == "part"] = \
                f"{statistics.median(t):.1f}"
    lo, hi = bounds(conn, middle)
    for key, table in (("plain", "audit_plain"), ("part", "audit_event")):
        t = timed(conn, f"SELECT action, count(*) FROM {table} WHERE at >= %s AND at < %s GROUP BY action",
                  (lo, hi), n=repeat)
        r.setdefault(f"middle month, rows per action (median of {repeat})", [None, None])[key == "part"] = \
            f"{statistics.median(t):.1f}"
    lo, hi = bounds(conn, oldest)
    through = conn.execute("SELECT max(id) FROM audit_plain WHERE at < %s", (hi,)).fetchone()[0]
    conn.rollback()
    reps = max(1, repeat // 2)
    delete = in_rolled_back_tx(conn, ["SELECT set_config('followup.audit_purge', 'on', true)",
                                      f"DELETE FROM audit_plain WHERE id <= {through}"], reps)
    part = f"audit_event_{oldest:%Y_%m}"
    drop = in_rolled_back_tx(conn, [f"SELECT max(id), count(*) FROM {part}", f"DROP TABLE {part}"], reps)
    r[f"retention, oldest month ({rows:,} rows): DELETE vs DROP (median of {reps})"] = (
        f"{statistics.median(delete):.0f}", f"{statistics.median(drop):.0f}")
    tasks = rows * 2 // 3 * len(months)
    ids = [rng.randrange(tasks) for _ in range(300)]
    for key, table in (("plain", "attempt_plain"), ("part", "attempt_monthly")):
        t = []
        for i in ids:
            t += timed(conn, f"SELECT id, at, outcome FROM {table} WHERE task_id = %s ORDER BY at, id", (i,),
                       prepare=True)
        r.setdefault("a task's attempts (call_attempt's read), p50 / p99", [None, None])[key == "part"] = \
            f"{pct(t, 50):.2f} / {pct(t, 99):.2f}"
    sizes = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                         "WHERE c.relname = 'audit_plain'").fetchone()[0], conn.execute(
        "SELECT pg_size_pretty(sum(pg_total_relation_size(i.inhrelid))) FROM pg_inherits i "
        "WHERE i.inhparent = 'audit_event'::regclass").fetchone()[0]
    conn.rollback()
    r["audit table on disk, with indexes"] = sizes
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--months", default="6,12,24", help="history lengths measured, ascending (1×,2×,4×)")
    ap.add_argument("--month-rows", type=int, default=125_000, help="audit events (and attempts) per month")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--migration-rows", type=int, default=0,
                    help="also time migration 0020 on a log of this many events (own scratch database)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.months.split(",")]
    import psycopg
    from followup.core.clock import local, utcnow
    t = local(utcnow())
    newest = months_back(date(t.year, t.month, 1), 7)
    timeline = [months_back(newest, k) for k in range(sizes[-1] - 1, -1, -1)]  # oldest first
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start (1 min; the machine "
          "is shared, other people's work counts too)")
    if args.migration_rows:
        time_migration(args.database_url + "_migration", args.migration_rows)
    recreate(args.database_url)
    rng = random.Random(20261130)
    results = []
    with psycopg.connect(args.database_url) as conn:
        for stmt in TWINS.strip().split(";\n"):
            conn.execute(stmt)
        conn.commit()
        loaded = 0
        for size in sizes:
            t0 = time.perf_counter()
            for i in range(loaded, size):
                load_month(conn, timeline[i], i, args.month_rows)
            loaded = size
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE audit_plain, audit_event, attempt_plain, attempt_monthly")
            conn.autocommit = False
            load_before = os.getloadavg()[0]
            print(f"\n{size} months × {args.month_rows:,} events = {size * args.month_rows:,} rows per table "
                  f"(loaded in {time.perf_counter() - t0:.0f} s); load average {load_before:.1f}", flush=True)
            r = measure(conn, timeline[:size], args.month_rows, rng, args.repeat)
            r["load average (1 min) before → after"] = (f"{load_before:.1f} → {os.getloadavg()[0]:.1f}",) * 2
            results.append((size, r))
            for k, (plain, part) in r.items():
                print(f"  {k:70} plain {plain:>16}   partitioned {part:>16}")
    print("\nms unless stated; plain = one table (as before 0020), partitioned = by local month (0020)")
    head = f"{'':70}" + "".join(f"{f'{s} months':>34}" for s, _ in results)
    print(head)
    for k in results[0][1]:
        k0 = k.split(" (median")[0]
        print(f"{k0[:70]:70}" + "".join(f"{r[k][0] + ' | ' + r[k][1]:>34}" for _, r in results))


if __name__ == "__main__":
    main()
