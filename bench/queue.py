"""Benchmark of the call queue: the app under gunicorn on PostgreSQL with N open tasks, C
simulated callers over loopback (next call → record the dial → submit the follow-up form), and
in the same run a bare endpoint doing one primary-key SELECT on the same server, as the limit.

    .venv/bin/python bench/queue.py                       # small: 2k tasks, 10 callers, 15 s
    .venv/bin/python bench/queue.py --tasks 100000 --callers 50 --seconds 60

Three phases on one server: the bare endpoint, saturated (the callers never pause: throughput,
compared with the bare endpoint) and paced (each caller pauses ~--think seconds before each step,
as dialling and talking take time: latency, which at saturation only measures the queue of
waiting callers). The paced phase runs until it has --min-samples next-call samples (a p99 from
33 samples is the maximum, not a percentile). Prints calls/s and p50/p95/p99 per step and phase
twice: as the client saw it, and server-side from gunicorn's access log (%(D)s, each request
tagged with its phase in X-Request-ID). Double claims (must be 0) are counted by the callers and,
on the server, from the audit rows (one call.open per hand-out). The bare endpoint is one
primary-key SELECT on its own pool (no pre-ping), answered before Flask: no session, no sign-in,
no middleware, so it is the floor of a request on this server. With --pin (default on 2+ CPUs)
the server runs on the last CPU and the load generator on the first (taskset). Uses a scratch
database (dropped and rebuilt). Calling hours are opened to the whole day. Percentiles are
nearest-rank (bench/percentile.py); users sign in through the login form (bench/signin.py)."""
import os
import sys

# Run as a script, this file's folder comes first on sys.path and its name shadows the
# standard library's `queue` (which psycopg and requests import): take the folder off.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import argparse  # noqa: E402
import base64  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from datetime import date  # noqa: E402

ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench.percentile import percentile  # noqa: E402
from bench.signin import PASSWORD, sign_in  # noqa: E402

KEYS = {"FOLLOWUP_SECRET_KEY": "bench-secret", "FOLLOWUP_FIELD_KEY": base64.b64encode(b"f" * 32).decode(),
        "FOLLOWUP_INDEX_KEY": base64.b64encode(b"h" * 32).decode(), "FOLLOWUP_SECURE_COOKIES": "0",
        "FOLLOWUP_ARGON2_TIME_COST": "1", "FOLLOWUP_ARGON2_MEMORY_KIB": "1024",
        "FOLLOWUP_CALLING_HOURS": "00:00-24:00", "FOLLOWUP_LOGIN_MAX_FAILURES": "1000"}
WARDS = 5


def bench_app():
    """The gunicorn entry point: the real app, with /bench/bare answered in front of it."""
    from sqlalchemy import create_engine, text
    from followup import create_app
    threads = int(os.environ.get("BENCH_THREADS", "16"))
    app = create_app({"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": threads + 2, "max_overflow": 0,
                                                    "pool_pre_ping": True}})
    bare_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=threads + 2,
                                max_overflow=0, pool_pre_ping=False)
    one_select = text("SELECT id FROM hospital WHERE id = 1")

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != "/bench/bare":
            return app(environ, start_response)
        with bare_engine.connect() as conn:  # exactly one statement on the wire (plus the pool's rollback)
            hid = conn.execute(one_select).scalar()
        body = f'{{"id": {hid}}}'.encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                  ("X-Request-ID", environ.get("HTTP_X_REQUEST_ID", ""))])
        return [body]
    return wsgi


# --- the scratch database ------------------------------------------------------------------

def build_database(url: str, tasks: int, callers: int) -> None:
    import psycopg
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = u.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')
    os.environ.update(KEYS)
    from flask_migrate import upgrade
    from followup import create_app
    from followup.core.crypto import EncryptedText, blind_index
    from followup.extensions import db
    from followup.models import Hospital, Region, Role, Ward
    from followup.security.users import create_user
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="heads")
        city = Region(code="371500", name="聊城市", level="city")
        h = Hospital(code="HB1", name="聊城市人民医院", grade="三级甲等", region=city)
        db.session.add_all([city, h])
        db.session.flush()
        wards = [Ward(hospital=h, code=f"W{i}", name=f"病区{i}") for i in range(WARDS)]
        db.session.add_all(wards)
        db.session.flush()
        half = callers // 2
        for i in range(callers):  # half nurses spread over the wards, half the follow-up centre
            if i < half:
                create_user(f"n{i:03d}", PASSWORD, Role.NURSE, hospital_code="HB1", ward_codes=[f"W{i % WARDS}"])
            else:
                create_user(f"c{i:03d}", PASSWORD, Role.CENTRE_STAFF, hospital_code="HB1")
        db.session.commit()
        phone = "+8613800138000"
        cipher = EncryptedText().process_bind_param(phone, db.engine.dialect)
        discharges = tasks // 2
        today = date.today()
        params = {"h": h.id, "w0": wards[0].id, "nw": WARDS, "n": discharges, "cipher": cipher,
                  "hash": blind_index(phone), "today": today}
        s = db.session
        s.execute(text("""
            INSERT INTO patient (id, hospital_id, name, name_initials, sex, id_type, phone, phone_hash,
                                 phone_masked, created_at, updated_at)
            SELECT i, :h, '患者' || i, 'hz', '1', 'resident', :cipher, :hash, '138****8000', now(), now()
            FROM generate_series(1, :n) AS i"""), params)
        s.execute(text("""
            INSERT INTO discharge (id, hospital_id, ward_id, patient_id, inpatient_no, discharge_at,
                                   discharge_date, disposition, diagnosis_code, diagnosis_name,
                                   attending_doctor, medicines, rehab_instructions, created_at, updated_at)
            SELECT i, :h, :w0 + (i % :nw), i, 'ZY' || i, now() - (i % 7) * interval '1 day',
                   :today - (i % 7), '1', 'I10', '高血压病', '王医生', '', '', now(), now()
            FROM generate_series(1, :n) AS i"""), params)
        for level in ("ward", "hospital"):
            s.execute(text(f"""
                INSERT INTO followup_task (discharge_id, level, hospital_id, ward_id, status, due_at,
                                           created_at, version)
                SELECT d.id, '{level}', d.hospital_id, d.ward_id, 'open',
                       (d.discharge_date + 8)::timestamp AT TIME ZONE 'Asia/Shanghai', now(), 1  -- due_at_for()
                FROM discharge d"""))
        for table in ("patient", "discharge"):
            s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()


# --- the load ------------------------------------------------------------------------------

class Stats:
    lock = threading.Lock()

    def __init__(self, claimed: Counter, phase: str):
        self.latency = defaultdict(list)
        self.errors = Counter()
        self.claimed = claimed
        self.calls = 0
        self.phase = phase
        self.local = threading.local()

    def bind(self, session):
        self.local.session = session

    def session_tag(self):
        """Tag the next request with this phase (gunicorn logs the echoed X-Request-ID)."""
        s = getattr(self.local, "session", None)
        if s is not None:
            s.headers["X-Request-ID"] = f"{self.phase}-{uuid.uuid4().hex[:16]}"

    def add(self, step, seconds):
        with self.lock:
            self.latency[step].append(seconds)


class _Failed:
    """A request that got no answer (connection reset, timeout): counted, and the caller goes on."""
    status_code = 0


def timed(stats, step, fn):
    import requests
    stats.session_tag()
    t0 = time.perf_counter()
    try:
        r = fn()
    except requests.RequestException:
        return _Failed()
    stats.add(step, time.perf_counter() - t0)
    return r


def caller_loop(base, session, stats, answered_share, think, rng, stop):
    """One caller: next call → record the dial → (answered) submit the form. `think` seconds
    pass before each step: the dialling and talking a real call takes (0: saturation)."""
    def pause():
        if think:
            stop.wait(rng.uniform(0.5, 1.5) * think)
    stats.bind(session)
    while not stop.is_set():
        pause()
        r = timed(stats, "next", lambda: session.post(f"{base}/api/v1/calls/next", timeout=30))
        if r.status_code != 200:
            stats.errors[f"next {r.status_code}"] += 1
            continue
        task = r.json()["task"]
        if task is None:
            stats.errors["queue empty"] += 1
            time.sleep(0.05)
            continue
        with stats.lock:
            stats.claimed[task["id"]] += 1
        outcome = "answered" if rng.random() < answered_share else rng.choice(["no_answer", "busy"])
        pause()
        r = timed(stats, "attempt", lambda: session.post(
            f"{base}/api/v1/calls/tasks/{task['id']}/attempts",
            json={"version": task["version"], "outcome": outcome}, timeout=30))
        if r.status_code != 201:
            stats.errors[f"attempt {r.status_code}"] += 1
            continue
        if outcome == "answered":
            pause()
            form = ({"condition": "improved", "guidance.medication.given": "true",
                     "guidance.medication.text": "按时服药"} if task["level"] == "ward" else {"sat_overall": "5"})
            form["csrf_token"] = session.headers["X-CSRFToken"]
            r = timed(stats, "form", lambda: session.post(f"{base}/calls/{task['id']}/record", data=form, timeout=30))
            if r.status_code != 200:
                stats.errors[f"form {r.status_code}"] += 1
                continue
        with stats.lock:
            stats.calls += 1


def bare_loop(base, session, stats, stop):
    stats.bind(session)
    while not stop.is_set():
        r = timed(stats, "bare", lambda: session.get(f"{base}/bench/bare", timeout=30))
        if r.status_code != 200:
            stats.errors[f"bare {r.status_code}"] += 1


def run_phase(target, sessions, seconds, enough=None, max_seconds=None):
    """Run until `seconds` passed and enough() is true (or max_seconds passed)."""
    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(*a, stop)) for a in sessions]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    while enough is not None and not enough() and time.perf_counter() - t0 < (max_seconds or seconds):
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def pct(seconds, p):
    """Nearest-rank percentile (bench/percentile.py) of client times in seconds, in ms."""
    return percentile(seconds, p) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--callers", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--bare-seconds", type=int, default=10)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--port", type=int, default=5913)
    ap.add_argument("--answered", type=float, default=0.7, help="share of dials answered")
    ap.add_argument("--think", type=float, default=2.0,
                    help="paced phase: mean seconds a caller spends before each step (dialling, talking)")
    ap.add_argument("--min-samples", type=int, default=500,
                    help="paced phase: run on until this many next-call samples (for a p99)")
    ap.add_argument("--max-seconds", type=int, default=300, help="paced phase: stop here regardless")
    ap.add_argument("--pin", action=argparse.BooleanOptionalAction, default=(os.cpu_count() or 1) >= 2,
                    help="server on the last CPU, this load generator on the first (taskset)")
    ap.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/followup_bench_queue")
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()

    if not args.skip_build:
        t0 = time.perf_counter()
        build_database(args.database, args.tasks, args.callers)
        print(f"built {args.tasks} open tasks, {args.callers} callers in {time.perf_counter() - t0:.1f} s")
    env = {**os.environ, **KEYS, "DATABASE_URL": args.database, "BENCH_THREADS": str(args.threads)}
    env.pop("REDIS_URL", None)
    access_log = os.path.join("/tmp", f"bench-queue-{os.getpid()}.access.log")
    env.update({"GUNICORN_BIND": f"127.0.0.1:{args.port}", "GUNICORN_WORKERS": str(args.workers),
                "GUNICORN_THREADS": str(args.threads), "GUNICORN_ACCESSLOG": access_log,
                "GUNICORN_LOGLEVEL": "warning", "GUNICORN_CONTROL_SOCKET": access_log + ".ctl"})
    last = (os.cpu_count() or 1) - 1
    pin = ["taskset", "-c", str(last)] if args.pin else []
    if args.pin:
        os.sched_setaffinity(0, {0})  # this process (the load generator) on the first CPU
    server = subprocess.Popen(
        pin + [os.path.join(ROOT, ".venv/bin/gunicorn"), "-c", os.path.join(ROOT, "deploy/gunicorn.conf.py"),
               "--chdir", ROOT, "bench.queue:bench_app()"], env=env, start_new_session=True)
    base = f"http://127.0.0.1:{args.port}"
    try:
        import requests
        for _ in range(100):
            try:
                if requests.get(f"{base}/bench/bare", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # still starting
                time.sleep(0.2)
        half = args.callers // 2
        names = [f"n{i:03d}" if i < half else f"c{i:03d}" for i in range(args.callers)]
        logged = [sign_in(base, n) for n in names]
        claimed = Counter()  # task id → times handed out, over both caller phases
        bare, saturated, paced = Stats(claimed, "bare"), Stats(claimed, "sat"), Stats(claimed, "paced")
        times = {"bare": run_phase(bare_loop, [(base, s, bare) for s in logged], args.bare_seconds)}

        def callers(stats, think):
            return [(base, s, stats, args.answered, think, random.Random(i)) for i, s in enumerate(logged)]
        times["saturated"] = run_phase(caller_loop, callers(saturated, 0), args.seconds)
        times["paced"] = run_phase(caller_loop, callers(paced, args.think), args.seconds,
                                   enough=lambda: len(paced.latency["next"]) >= args.min_samples,
                                   max_seconds=args.max_seconds)
        time.sleep(1)  # gunicorn writes the access log line after the response
        report(args, bare, saturated, paced, times, server_doubles(args.database))
        server_side(access_log, times)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def server_doubles(url: str) -> int:
    """Tasks the server handed out more than once: each hand-out writes one call.open audit row."""
    import psycopg
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute("SELECT count(*) FROM (SELECT object_id FROM audit_event WHERE action = 'call.open'"
                            " GROUP BY object_id HAVING count(*) > 1) AS d").fetchone()[0]


def report(args, bare, saturated, paced, times, doubles_on_server):
    bare_rps = len(bare.latency["bare"]) / times["bare"]
    where = (f"server pinned to CPU {(os.cpu_count() or 1) - 1}, load generator to CPU 0" if args.pin
             else "server and load generator share every CPU")
    print(f"\n{args.tasks} open tasks, {args.callers} callers, gunicorn gthread {args.workers}x{args.threads}, "
          f"{os.cpu_count()} CPUs, {where}; load average now {os.getloadavg()[0]:.1f} (1 min; other "
          "processes on the machine count too)")
    print("CLIENT-side latency (includes the load generator's own scheduling delays):")
    print(f"{'phase':10} {'step':8} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    rows = [("bare", bare, "bare")] + [(name, st, step) for name, st in (("saturated", saturated), ("paced", paced))
                                        for step in ("next", "attempt", "form")]
    for name, st, step in rows:
        v = st.latency[step]
        print(f"{name:10} {step:8} {len(v):7d} {pct(v, 50):8.1f} {pct(v, 95):8.1f} {pct(v, 99):8.1f}")
    print(f"bare endpoint (saturated):  {bare_rps:8.1f} requests/s")
    for name, st in (("saturated", saturated), (f"paced {args.think:g} s", paced)):
        t = times[name.split()[0]]
        n = sum(len(st.latency[s]) for s in ("next", "attempt", "form"))
        print(f"calls, {name + ':':13} {n / t:8.1f} requests/s ({n / t / bare_rps:.2f} of bare), "
              f"{len(st.latency['next']) / t:.1f} claims/s, {st.calls / t:.1f} calls/s finished, "
              f"errors {dict(st.errors) or 'none'}")
    doubles = sum(1 for n in saturated.claimed.values() if n > 1)
    print(f"double claims: {doubles} seen by the callers, {doubles_on_server} on the server (tasks with "
          "more than one call.open audit row)")
    sat_rps = sum(len(saturated.latency[s]) for s in ("next", "attempt", "form")) / times["saturated"]
    p99 = pct(paced.latency["next"], 99)
    if len(paced.latency["next"]) < 100:
        print(f"WARNING: only {len(paced.latency['next'])} paced next-call samples: the p99 is about the maximum")
    print(f"targets (client side): p99(next) < 50 ms at {args.callers} paced callers: {'met' if p99 < 50 else 'NOT met'} "
          f"({p99:.1f} ms); throughput >= 1/3 of bare: {'met' if sat_rps >= bare_rps / 3 else 'NOT met'} "
          f"({sat_rps / bare_rps:.2f})")


def server_side(access_log, times):
    """The same phases as the server saw them: time inside the gunicorn worker (%(D)s)."""
    from bench.accesslog import read, by_endpoint, table
    apct = percentile
    lines = read(access_log)
    print(f"\nSERVER-side latency from gunicorn's access log ({len(lines)} lines, %(D)s):")
    for phase, key in (("bare", "bare"), ("sat", "saturated"), ("paced", "paced")):
        print(table(by_endpoint(lines, phase + "-"), times[key], title=f"[{key}]"))
    nxt = by_endpoint(lines, "paced-").get("POST /api/v1/calls/next", [])
    bare = [v for vs in by_endpoint(lines, "bare-").values() for v in vs]
    print(f"server-side p99(next), paced: {apct(nxt, 99):.1f} ms over {len(nxt)} samples; "
          f"target <= 50 ms: {'met' if apct(nxt, 99) <= 50 else 'NOT met'}; "
          f"LIMIT (bare endpoint, one SELECT, same server, same run): p50 {apct(bare, 50):.2f} ms, "
          f"p99 {apct(bare, 99):.2f} ms")
    os.remove(access_log)


if __name__ == "__main__":
    main()
