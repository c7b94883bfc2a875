"""Load test of the production topology (bin/prod-local: gunicorn with several workers, two rq
workers, cron) under a mixed load, for --seconds (default 300):

- --callers nurses and follow-up-centre staff pacing real calls (next call → record the dial →
  the form when answered), each pausing ~--think seconds before each step;
- a QA user reading the monthly summary, the opinions and the ledger;
- a HIS posting a CSV of --import-rows discharges every --import-every seconds (API token);
- a county auditor drawing last month's sample at --draw-at seconds and polling its progress;
- a probe asking /healthz twice a second (the floor of a request through Flask on this server).

Latency is reported twice, per endpoint: server-side from gunicorn's access log (%(D)s, time
inside the worker) and client-side (what the load generator saw, its own delays included).
Each request carries X-Request-ID "<role>-<uuid>", so the log splits by role. Also: throughput,
job latency (outbox row created → finished, by job), import batches, and what the CPUs did.
The server processes run on the last CPU (taskset, via bin/prod-local --server-cpus) and this
generator on the first; PostgreSQL and Redis are the machine's shared services and float.

    .venv/bin/python bench/load.py                      # 5 minutes, 100 callers
    .venv/bin/python bench/load.py --seconds 120 --skip-build

Uses scratch databases only (dropped and rebuilt unless --skip-build). Percentiles are nearest-rank
(bench/percentile.py); users sign in through the login form (bench/signin.py)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]  # bench/queue.py shadows `queue`
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import base64  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from datetime import date, timedelta  # noqa: E402

from bench.accesslog import by_endpoint, job_windows, overlap, read, table  # noqa: E402
from bench.percentile import percentile as pct  # noqa: E402
from bench.signin import PASSWORD, sign_in  # noqa: E402
from deploy.prod_local import is_report_path  # noqa: E402

KEYS = {"FOLLOWUP_SECRET_KEY": "bench-load-secret", "FOLLOWUP_FIELD_KEY": base64.b64encode(b"f" * 32).decode(),
        "FOLLOWUP_INDEX_KEY": base64.b64encode(b"h" * 32).decode(),
        "FOLLOWUP_AUDIT_KEY": base64.b64encode(b"a" * 32).decode()}
SETTINGS = {"FOLLOWUP_ARGON2_TIME_COST": "1", "FOLLOWUP_ARGON2_MEMORY_KIB": "1024",
            "FOLLOWUP_CALLING_HOURS": "00:00-24:00", "FOLLOWUP_LOGIN_MAX_FAILURES": "10000",
            "FOLLOWUP_MFA_ROLES": "", "FOLLOWUP_IMPORT_PROCESSES": "0"}
WARDS = ["心内科", "骨科", "呼吸内科", "神经内科", "普外科", "妇产科"]  # the names bench/import.py writes


# --- the scratch database ------------------------------------------------------------------

def build(url: str, tasks: int, callers: int, last_month: int) -> str:
    """A county hospital with six wards, `callers` callers, a QA user, a county auditor,
    `tasks` open tasks due this week and `last_month` discharges last month (the draw's
    population). Returns the hospital's import API token."""
    os.environ.update(KEYS)
    importlib.import_module("bench.sampling").recreate(url)
    from flask_migrate import upgrade
    from sqlalchemy import text
    from followup import create_app
    from followup.core.clock import utcnow
    from followup.core.crypto import EncryptedText, blind_index
    from followup.extensions import db
    from followup.imports.batches import create_api_token
    from followup.models import Hospital, Region, Role, Ward
    from followup.security.users import create_user
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024})
    with app.app_context():
        upgrade(revision="heads")
        city = Region(code="371500", name="聊城市", level="city")
        county = Region(code="371502", name="东昌府区", level="county", parent=city)
        h = Hospital(code="HL1", name="东昌府区人民医院", grade="二级甲等", region=county)
        db.session.add_all([city, county, h])
        db.session.flush()
        wards = [Ward(hospital=h, code=f"W{i}", name=n) for i, n in enumerate(WARDS)]
        db.session.add_all(wards)
        db.session.flush()
        for i in range(callers):
            if i < callers // 2:
                create_user(f"n{i:03d}", PASSWORD, Role.NURSE, hospital_code="HL1", ward_codes=[f"W{i % len(WARDS)}"])
            else:
                create_user(f"c{i:03d}", PASSWORD, Role.CENTRE_STAFF, hospital_code="HL1")
        create_user("qa", PASSWORD, Role.QA, hospital_code="HL1")
        create_user("auditor", PASSWORD, Role.COUNTY_AUDITOR, region_code="371502")
        _row, token = create_api_token(h, "bench", utcnow())
        db.session.commit()
        phone = "+8613800138000"
        today = date.today()
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        p = {"h": h.id, "w0": wards[0].id, "nw": len(WARDS), "n": tasks // 2, "nm": tasks // 2 + last_month,
             "cipher": EncryptedText().process_bind_param(phone, db.engine.dialect), "hash": blind_index(phone),
             "today": today, "first": first}
        s = db.session
        s.execute(text("""
            INSERT INTO patient (id, hospital_id, name, name_initials, sex, id_type, phone, phone_hash,
                                 phone_masked, created_at, updated_at)
            SELECT i, :h, '患者' || i, 'hz', '1', 'resident', :cipher, :hash, '138****8000', now(), now()
            FROM generate_series(1, CAST(:nm AS int)) AS i"""), p)
        s.execute(text("""
            INSERT INTO discharge (id, hospital_id, ward_id, patient_id, inpatient_no, discharge_at,
                                   discharge_date, disposition, diagnosis_code, diagnosis_name,
                                   attending_doctor, medicines, rehab_instructions, created_at, updated_at)
            SELECT i, :h, :w0 + (i % :nw), i, 'LZ' || i,
                   CASE WHEN i <= :n THEN now() - (i % 7) * interval '1 day'
                        ELSE (:first + (i % 28))::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '10 hours' END,
                   CASE WHEN i <= :n THEN :today - (i % 7) ELSE :first + (i % 28) END,
                   CASE WHEN i % 50 = 0 THEN '5' ELSE '1' END, 'I10', '高血压病', '王医生', '', '', now(), now()
            FROM generate_series(1, CAST(:nm AS int)) AS i"""), p)
        s.execute(text("""
            INSERT INTO followup_task (discharge_id, level, hospital_id, ward_id, status, due_at, created_at, version,
                                       completed_at)
            SELECT d.id, l.level, d.hospital_id, d.ward_id, CASE WHEN d.id <= :n THEN 'open' ELSE 'done' END,
                   (d.discharge_date + 8)::timestamp AT TIME ZONE 'Asia/Shanghai', now(), 1,
                   CASE WHEN d.id > :n THEN d.discharge_at + interval '3 days' END
            FROM discharge d CROSS JOIN (VALUES ('ward'), ('hospital')) AS l(level)
            WHERE d.disposition <> '5'"""), p)
        for t in ("patient", "discharge"):
            s.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
        db.engine.dispose()
    return token


# --- the load ------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)   # "role endpoint" → client ms
        self.errors = Counter()
        self.events = {}

    def request(self, session, role, method, url, endpoint, ok=(200,), **kw):
        import requests
        session.headers["X-Request-ID"] = f"{role}-{uuid.uuid4().hex[:16]}"
        t0 = time.perf_counter()
        try:
            r = session.request(method, url, timeout=60, **kw)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[f"{role} {endpoint} {type(exc).__name__}"] += 1
            return None
        ms = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.latency[f"{method} {endpoint}"].append(ms)
            if r.status_code not in ok:
                key = f"{role} {method} {endpoint} {r.status_code}"
                self.errors[key] += 1
                said = re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]{1,200})<', r.text)
                self.events.setdefault("first " + key, "; ".join(said) or re.sub(r"\s+", " ", r.text)[:200])
        return r


def caller(base, s, rec, think, rng, stop):
    def pause():
        stop.wait(rng.uniform(0.5, 1.5) * think)
    while not stop.is_set():
        pause()
        r = rec.request(s, "caller", "POST", f"{base}/api/v1/calls/next", "/api/v1/calls/next")
        if r is None or r.status_code != 200 or r.json().get("task") is None:
            continue
        task = r.json()["task"]
        outcome = "answered" if rng.random() < 0.7 else rng.choice(["no_answer", "busy"])
        pause()
        r = rec.request(s, "caller", "POST", f"{base}/api/v1/calls/tasks/{task['id']}/attempts",
                        "/api/v1/calls/tasks/{id}/attempts", ok=(201,),
                        json={"version": task["version"], "outcome": outcome})
        if r is None or r.status_code != 201 or outcome != "answered":
            continue
        pause()
        form = ({"condition": "improved", "guidance.medication.given": "true", "guidance.medication.text": "按时服药",
                 **{f"medication_adherence.{k}.{f}": v for k, m in enumerate(task.get("medicines") or [])
                    for f, v in (("medicine", m), ("as_prescribed", "true"))}}
                if task["level"] == "ward" else {"sat_overall": "5"})
        rec.request(s, "caller", "POST", f"{base}/calls/{task['id']}/record", "/calls/{id}/record",
                    data={**form, "csrf_token": s.headers["X-CSRFToken"]})


def qa_reader(route, s, rec, month, stop):
    pages = [(route(f"/qa/summary?month={month}"), "/qa/summary"), (route("/qa/opinions"), "/qa/opinions"),
             (route("/ledger/"), "/ledger/")]
    i = 0
    while not stop.wait(3):
        url, name = pages[i % len(pages)]
        rec.request(s, "qa", "GET", url, name)
        i += 1


def importer(base, token, rec, every, rows, stop):
    import requests
    gen = importlib.import_module("bench.import").generate
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    k = 0
    with tempfile.TemporaryDirectory() as tmp:
        while not stop.wait(every if k else 5):
            path = os.path.join(tmp, f"his{k}.csv")
            gen(path, rows, seed=1000 + k)
            with open(path, "rb") as fh:
                rec.request(s, "import", "POST", f"{base}/api/v1/imports/files?filename=his{k}.csv",
                            "/api/v1/imports/files", ok=(202,), data=fh.read(),
                            headers={"Content-Type": "text/csv"})
            k += 1


def auditor(route, s, rec, at, month, stop):
    if stop.wait(at):
        return
    t0 = time.perf_counter()
    r = rec.request(s, "audit", "POST", route("/sampling/draw"), "/sampling/draw", ok=(302,),
                    data={"period": month, "rate": "1", "public_seed": "load test", "reason": "bench/load.py run",
                          "csrf_token": s.headers["X-CSRFToken"]},
                    allow_redirects=False)
    if r is None or r.status_code != 302:
        rec.events["draw"] = "refused"
        return
    work = r.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    while not stop.wait(1):  # as the page does: poll until the work page turns into the sample
        p = rec.request(s, "audit", "GET", route(f"/work/{work}"), "/work/{id}", ok=(200, 302),
                        allow_redirects=False)
        if p is not None and p.status_code == 302:
            rec.events["draw"] = f"done {time.perf_counter() - t0:.1f} s after the click (seen by polling)"
            return
    rec.events["draw"] = "not finished before the end"


def probe(base, rec, stop):
    import requests
    s = requests.Session()
    while not stop.wait(0.5):
        rec.request(s, "probe", "GET", f"{base}/healthz", "/healthz")


LOCK_WAITS = """SELECT a.pid, a.query_start, extract(epoch FROM now() - a.query_start), left(a.query, 100),
       b.pid, b.backend_type, b.state, left(b.query, 100)
FROM pg_stat_activity a
JOIN LATERAL unnest(pg_blocking_pids(a.pid)) WITH ORDINALITY AS blocker(pid, n) ON blocker.n = 1
JOIN pg_stat_activity b ON b.pid = blocker.pid
WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
  AND a.query_start < now() - interval '1 second'"""


def lock_watch(url, rec, stop):
    """Every half second: the backends of this database waiting over a second for a lock, and the
    first backend blocking each (its state and last statement). Kept per wait (pid, start), with
    the longest time seen, for the report: a stall that the access log shows but cannot explain."""
    import psycopg
    waits = rec.events.setdefault("lock waits", {})
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        while not stop.wait(0.5):
            for pid, started, secs, query, bpid, btype, bstate, bquery in conn.execute(LOCK_WAITS).fetchall():
                waits[(pid, started)] = (float(secs), " ".join(query.split()),
                                         f"pid {bpid} ({btype}, {bstate}): " + " ".join((bquery or "").split()))


# --- what the CPUs did ---------------------------------------------------------------------

def cpu_ticks(pids) -> float:
    """CPU seconds of these processes, with their children that have exited and been waited for
    (cutime, cstime): an rq worker's work horses, an import's forked helpers."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def runqueue_wait(pids) -> float:
    """Seconds these processes spent runnable but waiting for a CPU (/proc/<pid>/schedstat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as fh:
                total += int(fh.read().split()[1])
        except OSError:
            pass
    return total / 1e9


def db_backends(url) -> list[int]:
    import psycopg
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid()")]


def tree(root_pids) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True).stdout.split("\n")
    groups = set(root_pids)
    return [int(pid) for pid, pgid in (ln.split() for ln in out if ln.strip()) if int(pgid) in groups]


def job_latency(url, since):
    import psycopg
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        jobs = conn.execute("""SELECT name, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
                                      percentile_cont(0.95) WITHIN GROUP (ORDER BY s), max(s),
                                      count(*) FILTER (WHERE state <> 'done')
                               FROM (SELECT name, state, extract(epoch FROM coalesce(finished_at, now()) - created_at) AS s
                                     FROM outbox_job WHERE created_at >= %s) j GROUP BY name ORDER BY name""",
                            (since,)).fetchall()
        imports = conn.execute("""SELECT count(*), sum(read), sum(inserted),
                                         avg(extract(epoch FROM finished_at - started_at)),
                                         max(extract(epoch FROM finished_at - created_at)),
                                         count(*) FILTER (WHERE status <> 'completed')
                                  FROM import_batch WHERE created_at >= %s""", (since,)).fetchone()
    return jobs, imports


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--callers", type=int, default=100)
    ap.add_argument("--think", type=float, default=2.0, help="mean seconds before each step of a call")
    ap.add_argument("--tasks", type=int, default=40000, help="open tasks at the start")
    ap.add_argument("--last-month", type=int, default=20000, help="discharges last month (the draw's population)")
    ap.add_argument("--import-every", type=float, default=30)
    ap.add_argument("--import-rows", type=int, default=2000)
    ap.add_argument("--draw-at", type=float, default=30)
    ap.add_argument("--web-workers", type=int, default=6 * (os.cpu_count() or 1),
                    help="the callers' pool's gunicorn workers (deploy/gunicorn.conf.py: 6 per core)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker-class", help="gunicorn worker class of the callers' pool (default: gthread)")
    ap.add_argument("--keepalive", type=int, help="gunicorn keep-alive seconds (default: deploy/gunicorn.conf.py's)")
    ap.add_argument("--jobs-nice", type=int, help="niceness of the rq workers (default: bin/prod-local's)")
    ap.add_argument("--report-workers", type=int, default=1,
                    help="the reports pool's gunicorn workers (0: the callers' pool serves the QA and audit pages too)")
    ap.add_argument("--port", type=int, default=8393)
    ap.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/followup_bench_prod_load")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    ncpu = os.cpu_count() or 1
    server_cpu = str(ncpu - 1)

    token_file = os.path.join(ROOT, "instance", "bench-load-token")
    if not args.skip_build:
        t0 = time.perf_counter()
        token = build(args.database, args.tasks, args.callers, args.last_month)
        os.makedirs(os.path.dirname(token_file), exist_ok=True)
        with open(token_file, "w") as fh:
            fh.write(token)
        print(f"built {args.tasks} open tasks, {args.last_month} discharges last month, {args.callers} callers "
              f"in {time.perf_counter() - t0:.0f} s")
    with open(token_file) as fh:
        token = fh.read().strip()
    import redis
    redis.Redis.from_url(args.redis).flushdb()  # our own scratch db: no queued jobs from a previous run

    env_args = [f"--env={k}={v}" for k, v in {**KEYS, **SETTINGS}.items()]
    if args.worker_class:
        env_args.append(f"--env=GUNICORN_WORKER_CLASS={args.worker_class}")
    if args.keepalive is not None:
        env_args.append(f"--env=GUNICORN_KEEPALIVE={args.keepalive}")
    pl = [os.path.join(ROOT, "bin", "prod-local")]
    common = ["--name", "bench-load"]
    started = subprocess.run(pl + ["start", *common, "--database", args.database.replace("+psycopg", ""),
                                   "--redis", args.redis, "--port", str(args.port),
                                   "--web-workers", str(args.web_workers), "--threads", str(args.threads),
                                   "--report-workers", str(args.report_workers),
                                   *(["--jobs-nice", str(args.jobs_nice)] if args.jobs_nice is not None else []),
                                   "--server-cpus", server_cpu, *env_args], capture_output=True, text=True)
    if started.returncode:
        raise SystemExit(f"bin/prod-local start failed:\n{started.stdout}\n{started.stderr}")
    info = json.loads(started.stdout.strip().splitlines()[-1])
    base, access_logs = info["base"], [os.path.join(info["state"], "access.log")]
    if info["reports_base"] != base:  # the reports pool, as nginx routes it (deploy/nginx/followup.conf)
        access_logs.append(os.path.join(info["state"], "access-reports.log"))

    def route(path):  # the running topology's own prefix list (its start line), as nginx routes
        return (info["reports_base"] if is_report_path(path, info["report_prefixes"]) else base) + path
    os.sched_setaffinity(0, {0})  # the load generator on the first CPU, the server on the last
    try:
        from followup.core.clock import utcnow
        from followup.reports.monthly import previous_month
        month = previous_month(utcnow())
        offsets = [os.path.getsize(p) if os.path.exists(p) else 0 for p in access_logs]
        rec = Recorder()
        callers = [sign_in(base, f"n{i:03d}" if i < args.callers // 2 else f"c{i:03d}") for i in range(args.callers)]
        qa, audit = sign_in(base, "qa"), sign_in(base, "auditor")
        since = utcnow()
        since_epoch = since.timestamp()
        server_pids = tree(info["pids"].values())
        backends = db_backends(args.database)
        cpu0_server, cpu0_self, t_wall = cpu_ticks(server_pids), time.process_time(), time.perf_counter()
        cpu0_each = {name: cpu_ticks(tree([pid])) for name, pid in info["pids"].items()}
        wait0_server, cpu0_pg, wait0_pg = runqueue_wait(server_pids), cpu_ticks(backends), runqueue_wait(backends)
        load_before = os.getloadavg()
        stop = threading.Event()
        threads = [threading.Thread(target=caller, args=(base, s, rec, args.think, random.Random(i), stop))
                   for i, s in enumerate(callers)]
        threads += [threading.Thread(target=qa_reader, args=(route, qa, rec, month, stop)),
                    threading.Thread(target=importer, args=(base, token, rec, args.import_every, args.import_rows, stop)),
                    threading.Thread(target=auditor, args=(route, audit, rec, args.draw_at, month, stop)),
                    threading.Thread(target=probe, args=(base, rec, stop)),
                    threading.Thread(target=lock_watch, args=(args.database, rec, stop))]
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_wall
        server_cpu_s = cpu_ticks(tree(info["pids"].values())) - cpu0_server
        cpu_each = {name: cpu_ticks(tree([pid])) - cpu0_each[name] for name, pid in info["pids"].items()}
        server_wait_s = runqueue_wait(tree(info["pids"].values())) - wait0_server
        pg_cpu_s, pg_wait_s = cpu_ticks(backends) - cpu0_pg, runqueue_wait(backends) - wait0_pg
        self_cpu_s = time.process_time() - cpu0_self
        load_after = os.getloadavg()
        time.sleep(1)
        jobs, imports = job_latency(args.database, since)
    finally:
        subprocess.run(pl + ["stop", *common], capture_output=True, text=True)
    lines = [ln for p, o in zip(access_logs, offsets) for ln in read_from(p, o)]
    windows = job_windows([os.path.join(info["state"], f"{n}.log") for n in info["pids"] if n.startswith("worker")],
                          since_epoch)
    print("server CPU seconds by process (with its children): "
          + ", ".join(f"{name} {v:.0f}" for name, v in sorted(cpu_each.items(), key=lambda kv: -kv[1])))
    report(args, rec, lines, wall, jobs, imports, server_cpu_s, self_cpu_s, load_before, load_after, server_cpu,
           (server_wait_s, pg_cpu_s, pg_wait_s, len(backends)), windows)


def read_from(path, offset):
    with open(path, "rb") as fh, tempfile.NamedTemporaryFile("wb", delete=False) as out:
        fh.seek(offset)
        out.write(fh.read())
    try:
        return read(out.name)
    finally:
        os.remove(out.name)


def report(args, rec, lines, wall, jobs, imports, server_cpu_s, self_cpu_s, load_before, load_after, server_cpu,
           waits, windows=()):
    server_wait_s, pg_cpu_s, pg_wait_s, n_backends = waits
    print(f"\n{args.callers} paced callers (think {args.think:g} s), QA reader, HIS import of {args.import_rows} rows "
          f"every {args.import_every:g} s, one county draw at {args.draw_at:g} s; {wall:.0f} s measured")
    pool = (f"reports pool {args.report_workers}x4 for /qa/, /ledger/, /sampling/ ..., " if args.report_workers
            else "no reports pool, ")
    print(f"machine: {os.cpu_count()} CPUs; server (callers' gunicorn {args.web_workers}x{args.threads}, {pool}"
          f"2 rq workers, cron; the reports pool at niceness 10) "
          f"pinned to CPU {server_cpu}, load generator to CPU 0, PostgreSQL and Redis unpinned (shared services); "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min, whole machine: "
          "other people's processes included)")
    print(f"CPU used: server processes {server_cpu_s:.0f} s = {server_cpu_s / wall:.0%} of one CPU; "
          f"load generator {self_cpu_s:.0f} s = {self_cpu_s / wall:.0%} of one CPU; PostgreSQL backends of this "
          f"database open at the start ({n_backends}) {pg_cpu_s:.0f} s")
    print(f"waiting for a CPU (runnable, not running; /proc/<pid>/schedstat): server processes {server_wait_s:.0f} s, "
          f"those PostgreSQL backends {pg_wait_s:.0f} s, over {wall:.0f} s of wall time")
    print(f"\nSERVER-side latency (gunicorn access log, %(D)s), all roles, {len(lines)} requests, "
          f"{len(lines) / wall:.1f} req/s:")
    print(table(by_endpoint(lines), wall, title="endpoint"))
    for role in ("caller", "qa", "import", "audit"):
        rows = by_endpoint(lines, role + "-")
        if rows:
            print(table(rows, wall, title=f"[{role}]"))
    print("\nCLIENT-side latency (load generator, its own delays included):")
    print(table(dict(rec.latency), wall, title="endpoint"))
    print(f"errors: {dict(rec.errors) or 'none'}")
    for k, v in rec.events.items():
        if k.startswith("first "):
            print(f"  {k[6:]}: {v}")
    print(f"auditor's draw: {rec.events.get('draw', 'not started')}")
    waits = sorted(rec.events.get("lock waits", {}).values(), reverse=True)
    print(f"lock waits over 1 s (sampled every 0.5 s from pg_stat_activity): {len(waits) or 'none'}")
    for secs, query, blocker in waits[:5]:
        print(f"  {secs:.1f} s+: {query[:90]}\n      blocked by {blocker[:150]}")
    print("\njob latency (outbox row created → finished), jobs created during the run:")
    print(f"{'job':24} {'n':>5} {'p50 s':>8} {'p95 s':>8} {'max s':>8} {'unfinished':>10}")
    for name, n, p50, p95, mx, left in jobs:
        print(f"{name:24} {n:5d} {p50:8.2f} {p95:8.2f} {mx:8.2f} {left:10d}")
    n, read_rows, inserted, run_s, total_s, left = imports
    print(f"imports: {n} batches, {read_rows or 0} rows read, {inserted or 0} new discharges; "
          f"mean run {run_s or 0:.1f} s, worst arrival→done {total_s or 0:.1f} s; unfinished {left}")
    nxt = by_endpoint(lines, "caller-").get("POST /api/v1/calls/next", [])
    floor = by_endpoint(lines, "probe-").get("GET /healthz", [])
    p99 = pct(nxt, 99)
    print(f"\nTARGET next-call p99 <= 50 ms server-side at {args.callers} callers: "
          f"{'met' if p99 <= 50 else 'NOT met'} ({p99:.1f} ms over {len(nxt)} samples)")
    print(f"LIMIT beside it (same run, same server): /healthz through Flask p50 {pct(floor, 50):.1f} ms, "
          f"p99 {pct(floor, 99):.1f} ms over {len(floor)} samples")
    pages = [(ln.at - ln.micros / 1e6, ln.at, "report page") for ln in lines
             if is_report_path(ln.path) and ln.micros > 100_000]
    print("WHAT THE TAIL RAN BESIDE: " + overlap(50, [ln for ln in lines if ln.request_id.startswith("caller-")
                                                     and ln.endpoint == "POST /api/v1/calls/next"],
                                             list(windows) + pages))


if __name__ == "__main__":
    main()
