"""Sampling benchmark: a city draw at 0.1% and a county draw at 1% (population read, draw,
freezing and commit included), each next to a plain SELECT count(*) over the same population in
the same run, on PostgreSQL with synthetic discharges bulk-loaded by INSERT … SELECT
generate_series (one month, 100 hospitals in 10 counties, ~1% died in hospital).

    .venv/bin/python bench/sampling.py                      # 10M discharges (fills once, ~minutes)
    .venv/bin/python bench/sampling.py --rows 200000        # a quick run while developing
    .venv/bin/python bench/sampling.py --reuse              # keep an already filled database

The database (default followup_bench_sampling) is dropped and recreated unless --reuse.
Targets: city draw over 10M < 10 s; county draw over 1M < 2 s."""
import argparse
import base64
import os
import sys
import time

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COUNTIES, HOSPITALS_PER_COUNTY = 10, 10
PERIOD = "2026-10"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/followup_bench_sampling")
    ap.add_argument("--reuse", action="store_true", help="keep the filled database if it is there")
    ap.add_argument("--repeat", type=int, default=1, help="draws of each kind (each a new draw_no)")
    ap.add_argument("--layout", choices=["daily", "interleaved"], default="daily",
                    help="daily: each hospital's day arrives as one import batch (as in production); "
                         "interleaved: every page holds rows of every hospital (worst case for a county)")
    args = ap.parse_args()
    if not args.reuse:
        recreate(args.database_url)
    from followup import create_app
    key = base64.b64encode(b"b" * 32).decode()
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench",
                      "FIELD_KEY": key, "INDEX_KEY": key, "JOBS_INLINE_MODE": "sync", "REDIS_URL": None})
    with app.app_context():
        from flask_migrate import upgrade
        from followup.extensions import db
        upgrade(revision="heads")
        if not args.reuse or not db.session.execute(db.text("SELECT 1 FROM discharge LIMIT 1")).first():
            fill(db, args.rows, args.layout)
        run(db, args.repeat)


def recreate(url):
    import psycopg
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = u.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}"')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def fill(db, rows, layout):
    """Regions, hospitals (one ward and one placeholder patient each), then the discharges with
    indexes dropped and foreign-key triggers off, then the indexes rebuilt."""
    from followup.models import Hospital, Patient, Region, Ward
    t0 = time.perf_counter()
    city = Region(code="371500", name="聊城市", level="city")
    db.session.add(city)
    for c in range(COUNTIES):
        county = Region(code=f"3715{c + 10:02d}", name=f"县{c + 1}", level="county", parent=city)
        for h in range(HOSPITALS_PER_COUNTY):
            hosp = Hospital(code=f"H{c:02d}{h:02d}", name=f"县{c + 1}医院{h + 1}", region=county)
            db.session.add_all([hosp, Ward(hospital=hosp, code="W", name="内科"),
                                Patient(hospital=hosp, name="合成", sex="1")])
    db.session.commit()
    conn = db.session.connection()
    indexes = conn.execute(db.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'discharge' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'discharge'::regclass)")).all()
    uniques = conn.execute(db.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'discharge'::regclass "
        "AND contype = 'u'")).all()
    for name, _ in uniques:
        conn.execute(db.text(f'ALTER TABLE discharge DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(db.text(f'DROP INDEX IF EXISTS "{name}"'))
    conn.execute(db.text("SET session_replication_role = replica"))
    cols, values = required_columns(conn)
    step = 1_000_000
    for lo in range(0, rows, step):
        hi = min(rows, lo + step)
        # Hospital ids 1..100 in creation order; ward id = hospital id; patient id = hospital id.
        # Day d = g·31/rows; "daily": within a day, hospital h's rows are one contiguous batch.
        hosp = "g % 100 + 1" if layout == "interleaved" else "(g::bigint * 3100 / :rows) % 100 + 1"
        day = "(g::bigint * 31 / :rows)"
        conn.execute(db.text(
            f"INSERT INTO discharge (hospital_id, ward_id, patient_id, inpatient_no, discharge_at, "
            f"discharge_date, disposition{cols}) "
            f"SELECT {hosp}, {hosp}, {hosp}, 'B' || g, "
            f"timestamptz '2026-10-01 02:00+00' + {day} * interval '1 day', "
            f"date '2026-10-01' + {day}::int, CASE WHEN g % 97 = 0 THEN '5' ELSE '1' END{values} "
            f"FROM generate_series(:lo, :hi - 1) g"), {"lo": lo, "hi": hi, "rows": rows})
        db.session.commit()
        conn = db.session.connection()
        print(f"  loaded {hi:,} rows  {time.perf_counter() - t0:6.1f} s", flush=True)
    conn.execute(db.text("SET session_replication_role = origin"))
    for name, definition in uniques:
        conn.execute(db.text(f'ALTER TABLE discharge ADD CONSTRAINT "{name}" {definition}'))
    for _name, definition in indexes:
        conn.execute(db.text(definition))
    db.session.commit()
    raw = db.engine.raw_connection()
    raw.driver_connection.autocommit = True
    raw.driver_connection.execute("VACUUM ANALYZE discharge")
    raw.close()
    print(f"filled {rows:,} discharges ({layout} layout) in {time.perf_counter() - t0:.1f} s", flush=True)


def required_columns(conn):
    """NOT NULL columns without a server default that the INSERT above does not set (they
    belong to other features and change as the schema grows): give each a neutral value."""
    from sqlalchemy import text
    set_here = {"id", "hospital_id", "ward_id", "patient_id", "inpatient_no", "discharge_at",
                "discharge_date", "disposition"}
    neutral = {"boolean": "false", "integer": "0", "smallint": "0", "bigint": "0", "date": "date '2026-10-01'",
               "timestamp with time zone": "now()", "json": "'{}'", "jsonb": "'{}'", "bytea": "''::bytea"}
    cols, values = "", ""
    for name, kind in conn.execute(text(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'discharge' "
            "AND is_nullable = 'NO' AND column_default IS NULL ORDER BY ordinal_position")):
        if name not in set_here:
            cols += f", {name}"
            values += f", {neutral.get(kind, chr(39) * 2)}"
    return cols, values


def run(db, repeat):
    from sqlalchemy import select
    from followup.models import Region
    from followup.sampling import algorithm as alg
    from followup.sampling.draw import DrawRequest, draw_sample
    from followup.sampling.population import count_population, load_strata, month_period, region_hospital_ids
    from followup.sampling.verify import population_drift, verify_sample
    start, end = month_period(PERIOD)
    city = db.session.scalar(select(Region).where(Region.level == "city"))
    county = db.session.scalar(select(Region).where(Region.level == "county").order_by(Region.code))
    print(f"{'draw':<8}{'population':>12}{'sample':>8}{'count(*) s':>12}{'read s':>9}{'draw s':>9}"
          f"{'total s':>9}{'x count':>9}{'verify s':>10}{'drift s':>9}")
    for region, rate, target in ((county, "0.01", 2.0), (city, "0.001", 10.0)) * repeat:
        hospitals = region_hospital_ids(region)
        t = time.perf_counter()
        n = count_population(hospitals, start, end)
        t_count = time.perf_counter() - t
        t = time.perf_counter()
        strata = load_strata(hospitals, start, end)  # the read alone, for the breakdown
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        alg.draw(strata, alg.parse_rate(rate, region.level), alg.derive_key(b"x" * 32, "p"))
        t_alg = time.perf_counter() - t
        del strata
        db.session.rollback()
        t = time.perf_counter()
        sample = draw_sample(DrawRequest(region, start, end, rate, "bench", "benchmark repeat"))
        db.session.commit()
        t_total = time.perf_counter() - t
        t = time.perf_counter()
        problems = verify_sample(sample)
        t_verify = time.perf_counter() - t
        assert not problems and n == sample.population_size, (problems, n)
        t = time.perf_counter()
        population_drift(sample)  # what the sample page computes on each view
        t_drift = time.perf_counter() - t
        ok = "ok" if t_total < target else f"OVER {target:.0f} s target"
        print(f"{region.level:<8}{sample.population_size:>12,}{sample.sample_size:>8,}{t_count:>12.2f}"
              f"{t_read:>9.2f}{t_alg:>9.2f}{t_total:>9.2f}{t_total / max(t_count, 1e-9):>9.1f}{t_verify:>10.2f}"
              f"{t_drift:>9.2f}  {ok}",
              flush=True)
        db.session.rollback()
    print("read = population ids from PostgreSQL; draw = keys, ranks and digests in memory; total = "
          "draw_sample() + commit (read, draw, freezing, sampled rows, audit row); verify = "
          "verify_sample(); drift = late arrivals / no longer eligible (sample page).")


if __name__ == "__main__":
    main()
