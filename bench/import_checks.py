"""What each per-row check of an import costs: bench/import.py's write floor (patients, their phone
index, discharges, two tasks per eligible stay, all generated in SQL: no Python, no client) on the
real schema at the migrations' head, then again with ONE foreign key, index or trigger of those
tables dropped (inside a transaction that is rolled back, so the schema is untouched).

    .venv/bin/python bench/import_checks.py --rows 200000 \
        --database postgresql://postgres@127.0.0.1:5432/followup_bench_checks

Prints, per check, the floor without it, the floor with every check timed just before it, and
the difference; and the noise: the median change between consecutive runs with every check.
Primary keys are not dropped. What needs each check is for the reader (the note); this says only
what it costs. The database is dropped and recreated (it must be a scratch one)."""
import argparse
import base64
import os
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))
import importlib  # noqa: E402

from bench.sampling import recreate  # noqa: E402

_import_bench = importlib.import_module("bench.import")  # "import" is a keyword: no plain import
FLOOR_SQL, WARDS = _import_bench.FLOOR_SQL, _import_bench.WARDS

TABLES = ("patient", "patient_phone", "discharge", "followup_task")

CHECKS = """
SELECT 'constraint', c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
  FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%(t)s) AND c.contype IN ('f', 'u')
UNION ALL
SELECT 'index', i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%(t)s) AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))
UNION ALL
SELECT 'trigger', t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
  FROM pg_trigger t WHERE t.tgrelid::regclass::text = ANY(%(t)s) AND NOT t.tgisinternal
ORDER BY 2, 1, 3"""


def run_floor(conn, hospital_id, ward_ids, rows) -> float:
    conn.execute("TRUNCATE patient, discharge, followup_task, patient_phone CASCADE")
    t = time.perf_counter()
    for _name, sql in FLOOR_SQL:
        conn.execute(sql.replace("%(h)s", str(hospital_id)).replace("%(n)s", str(rows))
                     .replace("%(wards)s", "ARRAY" + str(list(ward_ids))).replace("%%", "%"))
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/followup_bench_checks"))
    args = ap.parse_args()
    url = args.database.replace("postgresql://", "postgresql+psycopg://", 1)
    recreate(url)
    from followup import create_app
    from followup.extensions import db
    key = base64.b64encode(os.urandom(32)).decode()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FIELD_KEY": key, "INDEX_KEY": key,
                      "JOBS_INLINE_MODE": "sync", "REDIS_URL": None})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        from followup.models import Hospital, Region, Ward
        city = Region(code="371500", name="聊城市", level="city")
        h = Hospital(code="HB1", name="聊城市人民医院", region=city)
        wards = [Ward(hospital=h, code=f"W{i}", name=n) for i, n in enumerate(WARDS)]
        db.session.add_all([city, h, *wards])
        db.session.commit()
        hospital_id, ward_ids = h.id, [w.id for w in wards]
        db.session.remove()
    import psycopg
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        checks = conn.execute(CHECKS, {"t": list(TABLES)}).fetchall()
        conn.rollback()

        def timed(drop=None):
            try:
                if drop:
                    conn.execute(drop)
                return run_floor(conn, hospital_id, ward_ids, args.rows)
            finally:
                conn.rollback()  # DDL is transactional: the check is back

        load = os.getloadavg()[0]
        timed()  # warm-up: caches, the first TRUNCATE's files
        # Each variant is timed right after a run with every check, and compared with that run: this
        # machine's speed drifts between runs a minute apart, so one reference for the whole list
        # once made the savings of the variants add up to more than the whole floor.
        base, results = [], []
        for kind, table, name, definition in checks:
            drop = (f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' if kind == "constraint"
                    else f"DROP INDEX {name}" if kind == "index" else f'DROP TRIGGER "{name}" ON {table}')
            b = timed()
            try:
                results.append((kind, table, name, definition, timed(drop), b))
            except psycopg.errors.DependentObjectsStillExist:  # a foreign key's target: not dropped
                print(f"{table}.{name}: a foreign key points at it; not dropped")
            base.append(b)
        steps = [abs(x - y) for x, y in zip(base, base[1:])]
        noise = sorted(steps)[len(steps) // 2] if steps else 0.0
        print(f"{args.rows} rows; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; floor with every "
              f"check {min(base):.1f}-{max(base):.1f}s over {len(base)} runs; NOISE: median change between "
              f"consecutive runs with every check {noise:.2f}s (a saving below twice that is not told apart)")
        print(f"{'check':<58} {'without':>8} {'beside':>7} {'saves':>7}  definition")
        for kind, table, name, definition, s, b in sorted(results, key=lambda r: r[4] - r[5]):
            print(f"{table + '.' + name:<58} {s:7.1f}s {b:6.1f}s {b - s:6.1f}s  {definition[:110]}")

if __name__ == "__main__":
    main()
