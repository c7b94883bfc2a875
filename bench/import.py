"""Import benchmark: a seeded, realistic HIS discharge CSV (~1% bad rows) imported end to end on
PostgreSQL (validation, phone normalisation, patients, discharges, two tasks per eligible stay),
against a plain COPY of the same file into a bare indexed table as the physical limit.

    .venv/bin/python bench/import.py --rows 100000 \
        --database postgresql://postgres@127.0.0.1:5432/followup_bench_import

Prints rows/s, seconds, peak RSS, CPU seconds by process (importer, its worker processes,
PostgreSQL), the run's CPU bound (its CPU seconds over the machine's CPUs), the COPY rate and the
ratio; --floor then times PostgreSQL making the same rows in plain SQL (the limit for this schema)
and the least wall time of this run's Python beside it; --verbose logs where the writer's time
went; --profile adds a cProfile of the importing thread.
The database is dropped and recreated (it must be a scratch one)."""
import argparse
import base64
import cProfile
import csv
import os
import pstats
import random
import resource
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
# Run as a script, bench/ heads sys.path, and bench/queue.py would shadow the stdlib `queue`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))
from bench.sampling import recreate  # noqa: E402  (drops and creates a scratch database)

HEADERS = ["住院号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "入院日期", "出院日期", "出院科室",
           "出院诊断编码", "出院诊断", "离院方式", "主治医师", "出院带药", "康复指导"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国志强文"
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "156", "158", "159", "177", "180", "181", "186", "187", "188", "189", "199"]
WARDS = ["心内科", "骨科", "呼吸内科", "神经内科", "普外科", "妇产科"]
DIAGNOSES = [("I10.x00", "高血压病"), ("I20.000", "不稳定型心绞痛"), ("J18.900", "肺炎"),
             ("S72.000", "股骨颈骨折"), ("I63.900", "脑梗死"), ("K35.800", "急性阑尾炎")]


def resident_id(rnd, born, male):
    from stdnum.cn import ric
    body = f"371502{born:%Y%m%d}{rnd.randrange(100):02d}{rnd.choice('13579' if male else '02468')}"
    return body + ric.calc_check_digit(body + "0")


def generate(path, rows, seed=20261125):
    """Streamed to disk; ~1% bad rows of several kinds, 2% died in hospital."""
    import datetime as dt
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        base = dt.date(2026, 9, 1)
        for i in range(rows):
            male = rnd.random() < 0.5
            born = dt.date(1930, 1, 1) + dt.timedelta(days=rnd.randrange(30000))
            discharged = base + dt.timedelta(days=rnd.randrange(80))
            admitted = discharged - dt.timedelta(days=rnd.randrange(1, 20))
            phone = f"{rnd.choice(MOBILE_PREFIXES)}{rnd.randrange(10**8):08d}"
            if rnd.random() < 0.2:
                phone += f", 0635-{rnd.randrange(2 * 10**6, 9 * 10**6)}"
            id_number = resident_id(rnd, born, male) if rnd.random() < 0.8 else ""
            code, dx = rnd.choice(DIAGNOSES)
            r = [f"ZY{i:08d}", rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.choice((1, 2)))),
                 "男" if male else "女", born.isoformat(), id_number, phone, admitted.isoformat(),
                 f"{discharged.isoformat()} {rnd.randrange(8, 18):02d}:{rnd.randrange(60):02d}",
                 rnd.choice(WARDS), code, dx, "5" if rnd.random() < 0.02 else rnd.choice("11112349"),
                 rnd.choice(SURNAMES) + "医生", "阿司匹林肠溶片 100mg qd\n阿托伐他汀钙片 20mg qn", "低盐低脂饮食，适量活动"]
            bad = rnd.random()
            if bad < 0.003:
                r[5] = "1380013800x"          # junk after a phone number
            elif bad < 0.006:
                r[7] = "01/02/2026"            # ambiguous date
            elif bad < 0.008 and id_number:
                r[4] = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")  # bad check digit
            elif bad < 0.010:
                r[11] = "7"                    # unknown disposition
            w.writerow(r)


FLOOR_SQL = [
    ("patients", """INSERT INTO patient (hospital_id, name, name_initials, sex, birth_date, id_type, id_number_hash,
        id_number_masked, phone, phone_hash, phone_masked, created_at, updated_at)
        SELECT %(h)s, '张秀英', 'zxy', '2', date '1960-01-01' + i % 20000, 'resident',
               CASE WHEN i % 5 <> 0 THEN md5(i::text) || md5((-i)::text) END, '3715**********1234',
               decode(md5(i::text) || md5((i + 1)::text), 'hex'), md5((2 * i)::text) || md5((3 * i)::text),
               '138****0000', now(), now()
        FROM generate_series(1, %(n)s) i"""),
    # The search index the importer writes for every number of a patient (1.2 a patient here).
    ("phone index", """INSERT INTO patient_phone (patient_id, hospital_id, phone_hash, last4, position)
        SELECT p.id, p.hospital_id, p.phone_hash, right(p.phone_hash, 4), 0 FROM patient p
        UNION ALL
        SELECT p.id, p.hospital_id, md5(p.phone_hash), '8001', 1 FROM patient p WHERE p.id %% 5 = 0"""),
    ("discharges", """INSERT INTO discharge (hospital_id, ward_id, patient_id, inpatient_no, admission_date, discharge_at,
        discharge_date, disposition, diagnosis_code, diagnosis_name, attending_doctor, medicines, rehab_instructions,
        import_batch_id, content_hash, created_at, updated_at)
        SELECT %(h)s, (%(wards)s)[1 + p.id %% 6], p.id, 'ZY' || p.id, date '2026-09-01' + p.id %% 80 - 5,
               timestamptz '2026-09-01 10:00+08' + (p.id %% 80) * interval '1 day', date '2026-09-01' + p.id %% 80,
               CASE WHEN p.id %% 50 = 0 THEN '5' ELSE '1' END, 'I10.x00', '高血压病', '王医生',
               '阿司匹林肠溶片 100mg qd', '低盐低脂饮食，适量活动', 1, md5(p.id::text) || md5(p.name), now(), now()
        FROM patient p"""),
    ("tasks", """INSERT INTO followup_task (discharge_id, level, hospital_id, ward_id, status, due_at, created_at,
        version)
        SELECT d.id, l.level, d.hospital_id, d.ward_id, 'open', d.discharge_at + interval '8 days', now(), 1
        FROM discharge d CROSS JOIN (VALUES ('ward'), ('hospital')) AS l(level) WHERE d.disposition <> '5'"""),
]


def write_floor(url, hospital_id, ward_ids, rows):
    """PostgreSQL's own cost of the writes an import must make (patients and their phone index,
    discharges, two tasks per eligible stay) into the real, empty, indexed and foreign-key-checked tables, generated in
    SQL: no Python, no client, no validation. What no importer on this schema can beat."""
    import psycopg
    out = {}
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        conn.execute("TRUNCATE patient, discharge, followup_task CASCADE")
        conn.commit()
        conn.execute("ANALYZE")
        for name, sql in FLOOR_SQL:
            t = time.perf_counter()
            conn.execute(sql.replace("%(h)s", str(hospital_id)).replace("%(n)s", str(rows))
                         .replace("%(wards)s", "ARRAY" + str(list(ward_ids))).replace("%%", "%"))
            conn.commit()
            out[name] = time.perf_counter() - t
    return out


def copy_limit(url, path, hospital_id):
    """A plain COPY of the same file into a bare table indexed on the same columns as the real
    key of a discharge, (hospital_id, inpatient_no, discharge_date): hospital_id is filled by a
    column default (the importer knows it from the batch), 住院号 is c0 and 出院日期 c7. The columns
    stay text and the index non-unique, since the file's bad rows must load too."""
    import psycopg
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        conn.execute(f"CREATE TABLE bench_copy (hospital_id int NOT NULL DEFAULT {int(hospital_id)}, "
                     + ", ".join(f"c{i} text" for i in range(len(HEADERS))) + ")")
        conn.execute("CREATE INDEX ON bench_copy (hospital_id, c0, c7)")
        t = time.perf_counter()
        columns = ", ".join(f"c{i}" for i in range(len(HEADERS)))
        with conn.cursor() as cur, cur.copy(f"COPY bench_copy ({columns}) FROM STDIN (FORMAT csv, HEADER true)") as cp, \
                open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                cp.write(block)
        conn.commit()
        return time.perf_counter() - t


class BackendCPU:
    """CPU seconds of the PostgreSQL backends serving THIS benchmark's database only (not every
    postgres process on a shared machine): their pids are read from pg_stat_activity every
    0.2 s, and each pid's utime+stime from /proc, so backends that exit mid-run still count up
    to their last sample. Background processes (WAL writer, checkpointer, autovacuum) are shared
    with the other databases and are left out: say so beside the figure."""

    def __init__(self, url):
        import threading
        self.url, self.first, self.last = url.replace("+psycopg", ""), {}, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def ticks(pid) -> int | None:
        """utime + stime of a process, in clock ticks (None once it is gone)."""
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except OSError:
            return None

    def _run(self):
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            me = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            while True:
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s "
                    "AND backend_type = 'client backend'", (me,))]
                for pid in pids:
                    t = self.ticks(pid)
                    if t is not None:
                        # Backends there at the start count from now; those that connect later, from
                        # their start (a forked backend's counters begin at zero).
                        self.first.setdefault(pid, 0 if self.started else t)
                        self.last[pid] = t
                self.started = True
                if self.stop.wait(0.2):
                    return

    def __enter__(self):
        self.started = False
        self.thread.start()
        while not self.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last) / os.sysconf("SC_CLK_TCK")


def _cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/followup_bench_import"))
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--processes", type=int, help="worker processes preparing rows (default: the app's "
                                                   "IMPORT_PROCESSES, one less than the CPUs)")
    ap.add_argument("--floor", action="store_true",
                    help="then time PostgreSQL making the same rows in plain SQL (the floor for this schema)")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="log the writer's timings")
    args = ap.parse_args()
    url = args.database.replace("postgresql://", "postgresql+psycopg://", 1)
    recreate(url)
    scratch = tempfile.TemporaryDirectory()  # the generated file is 240 MB at 1M rows: removed at exit
    path = os.path.join(scratch.name, "his.csv")
    t = time.perf_counter()
    generate(path, args.rows)
    print(f"generated {args.rows} rows ({os.path.getsize(path) / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s")

    from followup import create_app
    from followup.extensions import db
    key = base64.b64encode(os.urandom(32)).decode()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "FIELD_KEY": key, "INDEX_KEY": key,
                      "JOBS_INLINE_MODE": "sync", "REDIS_URL": None, "IMPORT_CHUNK_ROWS": args.chunk,
                      **({"IMPORT_PROCESSES": args.processes} if args.processes is not None else {}),
                      "IMPORT_MAX_ROWS": max(args.rows, 500_000)})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        if args.verbose:  # after the migrations, whose logging set-up disables other loggers
            import logging
            logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
            for name in ("followup.imports.run", "followup.imports.write"):
                logging.getLogger(name).disabled = False
        from followup.imports.batches import receive
        from followup.core.clock import utcnow
        from flask import current_app

        from followup.imports.run import ImportSettings, run_batch
        from followup.models import Hospital, Region, Ward
        city = Region(code="371500", name="聊城市", level="city")
        h = Hospital(code="HB1", name="聊城市人民医院", region=city)
        db.session.add_all([city, h, *[Ward(hospital=h, code=f"W{i}", name=n) for i, n in enumerate(WARDS)]])
        db.session.commit()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        with open(path, "rb") as fh:
            batch, _ = receive(h, fh, source=None, channel="cli", filename="his.csv", now=utcnow(), submit_job=False)
        db.session.commit()
        t_receive = time.perf_counter() - t
        cpu_before = _cpu()
        load_before = os.getloadavg()[0]
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        with BackendCPU(url) as backends:
            outcome = run_batch(batch.id, ImportSettings.from_app(current_app))
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - t
        cpu_self, cpu_children = (a - b for a, b in zip(_cpu(), cpu_before))
        cpu_pg = backends.seconds
        db.session.expire_all()
        counts = db.session.get(type(batch), batch.id).counts()
        from sqlalchemy import select, text
        tasks = db.session.scalar(text("SELECT count(*) FROM followup_task"))
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        again = run_batch(batch.id, ImportSettings.from_app(current_app))
        t_again = time.perf_counter() - t
        ward_ids = [w.id for w in db.session.scalars(select(Ward).where(Ward.hospital_id == h.id))]
        hospital_id = h.id
        db.session.remove()
    floor = floor_cpu = None
    if args.floor:
        with BackendCPU(url) as floor_backend:
            floor = write_floor(url, hospital_id, ward_ids, args.rows)
        floor_cpu = floor_backend.seconds
    copy_s = copy_limit(url, path, hospital_id)
    rate, copy_rate = args.rows / seconds, args.rows / copy_s
    print(f"outcome {outcome}: {counts}; tasks created {tasks}")
    print(f"import end to end: {seconds:.1f}s ({t_receive:.1f}s receiving/encrypting the payload) = {rate:,.0f} rows/s")
    rss_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS {rss_peak:.0f} MB (before the import {rss_before:.0f} MB); "
          f"largest worker process {rss_worker:.0f} MB ({app.config['IMPORT_PROCESSES']} workers)")
    print(f"CPU seconds: importing process {cpu_self:.1f}, worker processes {cpu_children:.1f}, "
          f"PostgreSQL backends of this database {cpu_pg:.1f} (WAL writer, checkpointer, autovacuum not "
          f"included: shared with other databases); load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (1 min, whole machine)")
    cpus = len(os.sched_getaffinity(0))
    cpu_total = cpu_self + cpu_children + cpu_pg
    print(f"LIMIT: CPU of this run {cpu_total:.1f}s over {cpus} CPUs = {cpu_total / cpus:.1f}s: the least wall time "
          f"any overlap of the same work could reach here (the import took {seconds / (cpu_total / cpus):.2f}x that)")
    print(f"LIMIT: plain COPY of the same file into a bare table indexed on the key's columns "
          f"(hospital_id, inpatient_no, discharge_date), same run: {copy_s:.1f}s = {copy_rate:,.0f} rows/s")
    print(f"ratio import/COPY: 1/{copy_rate / rate:.1f}")
    print(f"same batch again: {again} in {t_again * 1000:.0f} ms")
    if floor:
        total = sum(floor.values())
        print(f"write floor (the same writes generated in SQL, no Python): {total:.1f}s = "
              f"{args.rows / total:,.0f} rows/s (" + ", ".join(f"{k} {v:.1f}s" for k, v in floor.items()) + ")")
        # PostgreSQL doing only the floor's work, beside this run's Python: no overlap of the two on
        # this machine's CPUs takes less than their CPU seconds shared out.
        python_cpu = cpu_self + cpu_children
        print(f"LIMIT: the floor's PostgreSQL CPU {floor_cpu:.1f}s + this run's Python CPU {python_cpu:.1f}s, over "
              f"{cpus} CPUs = {(floor_cpu + python_cpu) / cpus:.1f}s: the least wall time for this importer's Python "
              f"with PostgreSQL doing no more than the floor")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
