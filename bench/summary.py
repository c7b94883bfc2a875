"""Benchmark of the monthly summary, the city-wide commission table and the Excel export on
PostgreSQL, with a city's worth of records bulk-loaded by INSERT … SELECT generate_series.

    .venv/bin/python bench/summary.py                       # 5 months × 100k discharges, 30 hospitals
    .venv/bin/python bench/summary.py --per-month 2000 --months 6 --hospitals 0 \
        --database-url postgresql://postgres@127.0.0.1:5432/followup_dev_qa  # fill a seed-demo DB

The scratch database is created (and, with --fresh, emptied) by the script. Without --fresh a
second run reuses what is there: hospitals are added only if the city has none, and a month that
already has discharges is not loaded again (so figures do not grow from run to run; the sizes
printed are what was timed). Synthetic data only.
Targets: page figures < 1 s each, Excel export < 10 s. Limit printed beside them, same run: one
plain SQL pass grouping the month's tasks by ward (what any summary must read at least)."""
import argparse
import os
import statistics
import sys
import time

# The project root instead of bench/ itself (bench/queue.py would shadow the stdlib's queue).
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import func, select, text  # noqa: E402

from bench.scratch import scratch_app  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/followup_bench_summary"
COMPLAINTS = ["结账排队时间太长", "病房卫生间不够干净", "夜间病房太吵", "费用清单看不懂", "检查预约要等好几天"]
OTHERS = ["护士态度很好，解释耐心", "医生查房时讲解清楚", "饭菜偏咸", "停车位太少，找车位很难", "出院手续繁琐"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--months", type=int, default=5)
    p.add_argument("--per-month", type=int, default=100_000)
    p.add_argument("--hospitals", type=int, default=30, help="hospitals to add (0 = use those there)")
    p.add_argument("--month", help="the last month loaded and timed (default: the month before now)")
    p.add_argument("--fresh", action="store_true", help="drop everything first")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    app = scratch_app(args.database_url, fresh=args.fresh)
    from followup.core.clock import utcnow
    from followup.reports import monthly
    month = args.month or monthly.previous_month(utcnow())
    with app.app_context():
        t0 = time.perf_counter()
        if args.hospitals and not sql("SELECT 1 FROM hospital WHERE code LIKE 'BH%' LIMIT 1").first():
            add_organisations(args.hospitals)
        months = [monthly.shift(month, -k) for k in range(args.months - 1, -1, -1)]
        loaded = [mo for mo in (months if args.per_month else []) if not month_loaded(mo)]
        for mo in loaded:
            load_month(mo, args.per_month)
        if loaded:
            analyse()
        print(f"loaded {len(loaded)} months × {args.per_month:,} discharges in {time.perf_counter() - t0:.1f} s; "
              f"reused {len(months) - len(loaded)} months already there")
        print_sizes()
    with app.test_request_context():  # the exports' labels are translated per request
        time_reports(month, args.repeat)


def sql(statement, **params):
    from followup.extensions import db
    result = db.session.execute(text(statement), params)
    db.session.commit()
    return result


def add_organisations(n_hospitals):
    """A city with ten counties; every third hospital is 市直; 10 clinical wards + 2 functional."""
    from followup.models import Role
    from followup.security.users import create_user
    base = sql("SELECT count(*) FROM hospital").scalar()
    sql("INSERT INTO region (code, name, level) VALUES ('B37', '基准市', 'city') ON CONFLICT DO NOTHING")
    sql("""INSERT INTO region (code, name, level, parent_id)
           SELECT 'B37' || lpad(g::text, 2, '0'), '基准县' || g, 'county', (SELECT id FROM region WHERE code = 'B37')
           FROM generate_series(1, 10) g ON CONFLICT DO NOTHING""")
    sql("""INSERT INTO hospital (code, name, grade, region_id, create_unknown_wards)
           SELECT 'BH' || (:base + g), '基准医院' || (:base + g), '二级甲等',
                  (SELECT id FROM region WHERE code = CASE WHEN g % 3 = 0 THEN 'B37'
                                                     ELSE 'B37' || lpad((g % 10 + 1)::text, 2, '0') END), false
           FROM generate_series(1, :n) g""", base=base, n=n_hospitals)
    sql("""INSERT INTO ward (hospital_id, code, name, kind)
           SELECT h.id, 'W' || w, (ARRAY['心内科','呼吸内科','普外科','骨科','神经内科','内分泌科','妇产科',
                  '儿科','肾内科','消化内科','收费处','后勤保障部'])[w], CASE WHEN w > 10 THEN 'functional' ELSE 'clinical' END
           FROM hospital h CROSS JOIN generate_series(1, 12) w
           WHERE h.code LIKE 'BH%' AND NOT EXISTS (SELECT 1 FROM ward x WHERE x.hospital_id = h.id)""")
    from followup.extensions import db
    if not sql("SELECT 1 FROM \"user\" WHERE username = 'bench_centre'").first():
        code = sql("SELECT code FROM hospital ORDER BY id LIMIT 1").scalar()
        create_user("bench_centre", "bench-password-1", Role.CENTRE_STAFF, hospital_code=code)
        db.session.commit()


def load_month(month, n):
    """n discharges in `month`, spread over the hospitals' clinical wards; their tasks, records,
    opinions and ledger items. Plain set-based SQL: ORM events do not fire, none are needed."""
    from followup.core.clock import local_midnight
    from followup.reports import monthly
    start, end = monthly.date_bounds(month)
    t0 = local_midnight(start)
    seconds = int((local_midnight(end) - t0).total_seconds())
    user = sql("SELECT min(id) FROM \"user\"").scalar()
    first_patient = sql("SELECT coalesce(max(id), 0) FROM patient").scalar()
    sql("DROP TABLE IF EXISTS bench_wards")
    sql("""CREATE UNLOGGED TABLE bench_wards AS
           SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, hospital_id,
                  row_number() OVER (PARTITION BY hospital_id ORDER BY id) - 1 AS k,
                  count(*) OVER (PARTITION BY hospital_id) AS n
           FROM ward WHERE kind = 'clinical'""")
    sql("""INSERT INTO patient (hospital_id, name, name_initials, sex, id_type, created_at, updated_at)
           SELECT w.hospital_id, '测试患者', 'cshz', '1', 'resident', now(), now()
           FROM generate_series(1, :n) g JOIN bench_wards w ON w.i = (hashint4(g) & 2147483647) %
                (SELECT count(*) FROM bench_wards)""", n=n)
    sql("""INSERT INTO discharge (hospital_id, ward_id, patient_id, inpatient_no, discharge_at, discharge_date,
                                  disposition, diagnosis_code, diagnosis_name, attending_doctor, medicines,
                                  rehab_instructions, created_at, updated_at)
           SELECT p.hospital_id, w.id, p.id, 'B' || p.id, d.at, (d.at AT TIME ZONE 'Asia/Shanghai')::date,
                  CASE WHEN p.id % 100 = 0 THEN '5' ELSE '1' END, 'I10.x00', '高血压病', '', '', '', now(), now()
           FROM patient p
           CROSS JOIN LATERAL (SELECT CAST(:t0 AS timestamptz) + ((hashint4(p.id) & 2147483647) % :secs) * interval '1 second' AS at) d
           JOIN bench_wards w ON w.hospital_id = p.hospital_id AND w.k = p.id % w.n
           WHERE p.id > :first""", t0=t0, secs=seconds, first=first_patient)
    first_discharge = sql("SELECT min(id) FROM discharge WHERE patient_id > :first", first=first_patient).scalar()
    # Tasks: 90% done (80% of those on time), 5% lost, the rest open; due after 7 whole days.
    sql("""INSERT INTO followup_task (discharge_id, level, hospital_id, ward_id, status, due_at, completed_at,
                                      created_at, version)
           SELECT d.id, lv.level, d.hospital_id, d.ward_id, s.status,
                  ((d.discharge_date + 8)::timestamp AT TIME ZONE 'Asia/Shanghai'),
                  CASE WHEN s.status = 'done' THEN d.discharge_at + (CASE WHEN r % 10 < 8 THEN 3 ELSE 9 END) * interval '1 day' END,
                  d.discharge_at, 1
           FROM discharge d CROSS JOIN (VALUES ('ward'), ('hospital')) lv(level)
           CROSS JOIN LATERAL (SELECT (hashint4(d.id * 2 + length(lv.level)) & 2147483647) % 100 AS r) rr
           CROSS JOIN LATERAL (SELECT CASE WHEN r < 90 THEN 'done' WHEN r < 95 THEN 'lost' ELSE 'open' END AS status) s
           WHERE d.id >= :first AND d.disposition <> '5'""", first=first_discharge)
    sql("""INSERT INTO ward_followup (task_id, recorded_by_id, recorded_at, condition, medication_adherence,
                                      guidance, red_flag, red_flag_note, notes, version)
           SELECT t.id, :u, t.completed_at, 'improved', '[]', '{}', false, '', '', 1
           FROM followup_task t WHERE t.discharge_id >= :first AND t.level = 'ward' AND t.status = 'done'""",
        u=user, first=first_discharge)
    sql("""INSERT INTO hospital_followup (task_id, recorded_by_id, recorded_at, sat_overall, sat_doctors, sat_nurses,
                                          sat_environment, sat_cost, sat_process, complaint, praise, notes, version)
           SELECT t.id, :u, t.completed_at, 3 + t.id % 3, 3 + (t.id / 3) % 3, 4 + t.id % 2, 2 + t.id % 4,
                  2 + (t.id / 7) % 4, 3 + (t.id / 5) % 3, t.id % 50 = 0, t.id % 20 = 1, '', 1
           FROM followup_task t WHERE t.discharge_id >= :first AND t.level = 'hospital' AND t.status = 'done'""",
        u=user, first=first_discharge)
    # Opinions on 1 in 10 hospital-level calls: 2% complaints, the rest suggestions and praise.
    sql("""INSERT INTO opinion (hospital_id, discharge_id, task_id, source, text, sentiment, category, ward_id,
                                original_sentiment, original_category, original_ward_id, recorded_by_id, recorded_at)
           SELECT t.hospital_id, t.discharge_id, t.id, 'hospital_call',
                  CASE WHEN s.v = 'complaint' THEN (CAST(:bad AS text[]))[1 + t.id / 50 % 5]
                       ELSE (CAST(:other AS text[]))[1 + t.id / 10 % 5] END, s.v, c.v,
                  t.ward_id, s.v, c.v, t.ward_id, :u, t.completed_at
           FROM followup_task t
           CROSS JOIN LATERAL (SELECT CASE WHEN t.id % 50 = 0 THEN 'complaint' WHEN t.id % 2 = 0 THEN 'suggestion'
                                           ELSE 'praise' END AS v) s
           CROSS JOIN LATERAL (SELECT (ARRAY['service_attitude','medical_quality','communication','cost',
                  'waiting_process','environment','food','parking_access','other'])[1 + (t.id / 10) % 9] AS v) c
           WHERE t.discharge_id >= :first AND t.level = 'hospital' AND t.status = 'done'
             AND (t.id % 10 = 0 OR t.id % 50 = 0)""", bad=COMPLAINTS, other=OTHERS, u=user, first=first_discharge)
    # Complaints go on the ledger: two thirds closed within 20 days, the rest still open.
    sql("""INSERT INTO rectification_item (hospital_id, ward_id, opinion_id, source, problem, status, due_date,
                                           cause, measures, created_by_id, created_at, closed_at, version)
           SELECT o.hospital_id, o.ward_id, o.id, 'complaint', o.text,
                  CASE WHEN o.id % 3 = 0 THEN 'open' ELSE 'closed' END,
                  (o.recorded_at AT TIME ZONE 'Asia/Shanghai')::date + 15, '', '', :u, o.recorded_at,
                  CASE WHEN o.id % 3 <> 0 THEN o.recorded_at + interval '20 days' END, 1
           FROM opinion o JOIN discharge d ON d.id = o.discharge_id
           WHERE d.id >= :first AND o.sentiment = 'complaint'""", u=user, first=first_discharge)
    sql("DROP TABLE bench_wards")
    sql("""INSERT INTO rectification_event (item_id, at, user_id, action, note, data)
           SELECT i.id, i.created_at, :u, 'created', '', '{}'::json FROM rectification_item i
           JOIN opinion o ON o.id = i.opinion_id WHERE o.discharge_id >= :first
           UNION ALL
           SELECT i.id, i.closed_at, :u, 'closed', '', '{}'::json FROM rectification_item i
           JOIN opinion o ON o.id = i.opinion_id WHERE o.discharge_id >= :first AND i.closed_at IS NOT NULL""",
        u=user, first=first_discharge)


def month_loaded(month) -> bool:
    from followup.reports import monthly
    start, end = monthly.date_bounds(month)
    return bool(sql("SELECT 1 FROM discharge WHERE discharge_date >= :s AND discharge_date < :e LIMIT 1",
                    s=start, e=end).first())


def analyse():
    from followup.extensions import db
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def print_sizes():
    for table in ("discharge", "followup_task", "ward_followup", "hospital_followup", "opinion",
                  "rectification_item"):
        print(f"  {table:20} {sql(f'SELECT count(*) FROM {table}').scalar():>10,}")


def timed(label, fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    print(f"{label:52} median {statistics.median(times):6.3f} s   min {min(times):6.3f} s")
    return result


def time_reports(month, repeat):
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.models import Discharge, Hospital, Region
    from followup.reports import commission, exports, monthly
    from followup.reports.spreadsheet import to_xlsx
    start, end = monthly.date_bounds(month)
    biggest = db.session.execute(select(Discharge.hospital_id, func.count()).where(
        Discharge.discharge_date >= start, Discharge.discharge_date < end)
        .group_by(Discharge.hospital_id).order_by(func.count().desc()).limit(1)).first()
    city = db.session.scalar(select(Region.id).where(Region.level == "city").order_by(Region.id.desc()))
    counties = select(Region.id).where(Region.parent_id == city)
    city_hospitals = select(Hospital.id).where((Hospital.region_id == city) | Hospital.region_id.in_(counties))
    now = utcnow()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (1 min) before timing "
          "(other processes share the machine)")
    print(f"month {month}; biggest hospital {biggest[0]} with {biggest[1]:,} discharges that month; "
          f"{db.session.scalar(select(func.count()).select_from(city_hospitals.subquery()))} hospitals in the city")
    timed("LIMIT: one SQL pass over the hospital's month (tasks by ward, status)",
          lambda: db.session.execute(text(
              "SELECT t.ward_id, t.level, t.status, count(*) FROM followup_task t JOIN discharge d "
              "ON d.id = t.discharge_id WHERE d.hospital_id = :h AND d.discharge_date >= :s AND d.discharge_date < :e "
              "GROUP BY 1, 2, 3"), {"h": biggest[0], "s": start, "e": end}).all(), repeat)
    timed("LIMIT: one SQL pass over the city's month (tasks by hospital, status)",
          lambda: db.session.execute(text(
              "SELECT d.hospital_id, t.status, count(*) FROM followup_task t JOIN discharge d "
              "ON d.id = t.discharge_id WHERE d.discharge_date >= :s AND d.discharge_date < :e "
              "GROUP BY 1, 2"), {"s": start, "e": end}).all(), repeat)
    data = timed("hospital summary (monthly.build, QA view)",
                 lambda: monthly.build(biggest[0], month, now=now), repeat)
    timed("commission table, city-wide, by hospital",
          lambda: commission.table(city_hospitals, month, now=now), repeat)
    rows = timed("commission table, city-wide, by county",
                 lambda: commission.table(city_hospitals, month, now=now, level="county"), repeat)
    timed("Excel export of the hospital summary (build + write)",
          lambda: exports.summary_xlsx(monthly.build(biggest[0], month, now=now)), repeat)
    timed("Excel export of the commission table (build + write)",
          lambda: to_xlsx([exports.commission_sheet(commission.table(city_hospitals, month, now=now), "hospital")]),
          repeat)
    print(f"summary: {data['totals']['discharges']:,} discharges, {len(data['complaints']):,} complaints, "
          f"{data['ledger']['open']:,} open items; counties ranked: {len(rows)}")
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) after timing")
    db.session.rollback()


if __name__ == "__main__":
    main()
