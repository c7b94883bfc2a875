"""What one caller's request costs the server, in CPU and SQL statements, per endpoint.

A caller's three steps, as bench/load.py paces them (next call → record the dial: 70% answered,
else no answer or busy → the form when answered), are sent one at a time through Flask's test
client: the whole app stack (CSRF, the server-side session, the user load, the audit seal, the
JSON or HTML answer), no HTTP server. For each request it records:
- app CPU ms: time.process_time() of this process (the client's share is in the floor too);
- db CPU ms: CPU time of the PostgreSQL backends this app's pool opened (/proc/<pid>/schedstat,
  nanosecond accounting), when the database is local;
- SQL statements (cursor executes) and pool checkouts (each is a pre-ping round trip).
CPU time, unlike latency, hardly depends on how busy the machine is: it is the figure that
says how many requests a core can serve (bench/load.py's queueing: ~39 req/s on one core).

The floor, from the same run and the same clients: GET /healthz (no session, no SQL) and
GET /api/v1/me (the signed-in session check and a JSON answer: the least an authenticated API
request costs). Prints per endpoint: n, CPU ms mean/p50/p95, db CPU ms mean, statements and
checkouts per request, wall ms p50; then the mean over the caller's requests.

    .venv/bin/python bench/caller_cost.py --database postgresql+psycopg://postgres@127.0.0.1:5432/followup_h5_load
    .venv/bin/python bench/caller_cost.py --calls 300 --profile next     # + cProfile of one endpoint
    .venv/bin/python bench/caller_cost.py --statements                   # + each statement's cost

It claims, dials and completes real tasks: point it at a copy of bench/load.py's database
(`createdb -T followup_bench_prod_load followup_h5_load`), never at one you need unchanged.
Users: nurses n000–n049 and centre staff c050–c099 with bench/load.py's password."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]  # bench/queue.py shadows `queue`
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

from bench.load import KEYS, PASSWORD, SETTINGS  # noqa: E402

ENDPOINTS = ("GET /healthz", "GET /api/v1/me", "POST /api/v1/calls/next", "POST /api/v1/calls/next (none)",
             "POST /api/v1/calls/tasks/{id}/attempts", "POST /calls/{id}/record")
CALLER_STEPS = ENDPOINTS[2:]


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))] if s else float("nan")


class Meter:
    """Counts statements and checkouts on the app's engine and the CPU of its PostgreSQL backends."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.statements = self.checkouts = 0
        self.backends: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._stmt)
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "connect", self._connect)
        event.listen(engine, "after_cursor_execute", self._stmt_done)
        self.postgres = engine.dialect.name == "postgresql"
        self.by_statement = None  # --statements: {endpoint: {statement: [wall ms, db ms, ...]}}
        self.endpoint = ""

    def _stmt(self, conn, _cursor, statement, *_a):
        self.statements += 1
        if self.by_statement is not None:
            pid = conn.connection.dbapi_connection.info.backend_pid if self.postgres else None
            conn.info["stmt_start"] = (time.perf_counter(), self._backend_ns(pid), pid)

    def _stmt_done(self, conn, _cursor, statement, *_a):
        if self.by_statement is None or "stmt_start" not in conn.info:
            return
        t0, d0, pid = conn.info.pop("stmt_start")
        key = " ".join(statement.split())[:110]
        self.by_statement[self.endpoint][key].append(((time.perf_counter() - t0) * 1000,
                                                     (self._backend_ns(pid) - d0) / 1e6))

    @staticmethod
    def _backend_ns(pid) -> int:
        if pid is None:
            return 0
        try:
            with open(f"/proc/{pid}/schedstat") as fh:
                return int(fh.read().split()[0])
        except OSError:
            return 0

    def _checkout(self, *_a):
        self.checkouts += 1

    def _connect(self, dbapi_conn, _record):
        if self.postgres:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            self.backends.add(cur.fetchone()[0])
            cur.close()

    def db_cpu_ns(self) -> int:
        return sum(self._backend_ns(pid) for pid in self.backends)


class Run:
    def __init__(self, app, meter, profile_key=None):
        self.app, self.meter = app, meter
        self.rows = defaultdict(lambda: defaultdict(list))
        self.profile_key, self.profiler = profile_key, cProfile.Profile(time.process_time)  # CPU, not waits
        self.measuring = False

    def send(self, key, client, method, url, **kw):
        m = self.meter
        s0, c0, d0 = m.statements, m.checkouts, m.db_cpu_ns()
        prof = self.measuring and self.profile_key and self.profile_key in key
        m.endpoint = key if self.measuring else "(warm-up)"
        t0, cpu0 = time.perf_counter(), time.process_time()
        if prof:
            self.profiler.enable()
        r = client.open(url, method=method, **kw)
        if prof:
            self.profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        if key.endswith("/next") and r.status_code == 200 and (r.get_json() or {}).get("task") is None:
            key += " (none)"
        if self.measuring:
            row = self.rows[key]
            row["cpu"].append(cpu * 1000)
            row["wall"].append(wall * 1000)
            row["db"].append((m.db_cpu_ns() - d0) / 1e6)
            row["stmts"].append(m.statements - s0)
            row["checkouts"].append(m.checkouts - c0)
            row["status"].append(r.status_code)
        return r


def sign_in(app, username):
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    if r.status_code != 302:
        raise SystemExit(f"sign-in of {username} failed: {r.status_code}")
    home = c.get("/").get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
    return c, csrf


def one_call(run, client, csrf, rng):
    """One caller's round as bench/load.py makes it."""
    h = {"X-CSRFToken": csrf}
    r = run.send("POST /api/v1/calls/next", client, "POST", "/api/v1/calls/next", headers=h)
    task = (r.get_json() or {}).get("task") if r.status_code == 200 else None
    if task is None:
        return
    outcome = "answered" if rng.random() < 0.7 else rng.choice(["no_answer", "busy"])
    r = run.send("POST /api/v1/calls/tasks/{id}/attempts", client, "POST", f"/api/v1/calls/tasks/{task['id']}/attempts",
                 headers=h, json={"version": task["version"], "outcome": outcome})
    if r.status_code != 201 or outcome != "answered":
        return
    form = ({"condition": "improved", "guidance.medication.given": "true", "guidance.medication.text": "按时服药",
             **{f"medication_adherence.{k}.{f}": v for k, m in enumerate(task.get("medicines") or [])
                for f, v in (("medicine", m), ("as_prescribed", "true"))}}
            if task["level"] == "ward" else {"sat_overall": "5"})
    run.send("POST /calls/{id}/record", client, "POST", f"/calls/{task['id']}/record",
             data={**form, "csrf_token": csrf})


def report(run, args):
    load = os.getloadavg()
    print(f"caller_cost: {args.calls} calls after {args.warmup} warm-up, users {', '.join(args.users)}, "
          f"database {args.database.rsplit('/', 1)[-1]}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'endpoint':40} {'n':>5} {'cpu ms':>7} {'p50':>6} {'p95':>6} {'db ms':>6} {'stmts':>6} "
          f"{'chkout':>6} {'wall p50':>8}  statuses")
    for key in ENDPOINTS:
        row = run.rows.get(key)
        if not row:
            continue
        statuses = ",".join(f"{s}x{row['status'].count(s)}" for s in sorted(set(row["status"])))
        print(f"{key:40} {len(row['cpu']):5d} {statistics.mean(row['cpu']):7.2f} {pct(row['cpu'], .5):6.2f} "
              f"{pct(row['cpu'], .95):6.2f} {statistics.mean(row['db']):6.2f} {statistics.mean(row['stmts']):6.1f} "
              f"{statistics.mean(row['checkouts']):6.1f} {pct(row['wall'], .5):8.2f}  {statuses}")
    steps = [(k, run.rows[k]) for k in CALLER_STEPS if k in run.rows]
    n = sum(len(r["cpu"]) for _, r in steps)
    if n:
        cpu = sum(sum(r["cpu"]) for _, r in steps) / n
        dbc = sum(sum(r["db"]) for _, r in steps) / n
        stm = sum(sum(r["stmts"]) for _, r in steps) / n
        floor = statistics.mean(run.rows["GET /api/v1/me"]["cpu"]) if "GET /api/v1/me" in run.rows else float("nan")
        print(f"{'caller requests, mean (the load mix)':40} {n:5d} {cpu:7.2f} {'':6} {'':6} {dbc:6.2f} {stm:6.1f}")
        print(f"floor: a signed-in no-op (GET /api/v1/me) {floor:.2f} ms of app CPU; the caller's requests "
              f"average {cpu - floor:.2f} ms above it. app CPU includes the test client's share (see /healthz).")
    if run.meter.by_statement is not None:
        print("\nper statement, in the order first run: calls per request, wall ms and PostgreSQL CPU ms "
              "(the backend's own /proc/<pid>/schedstat) per execution")
        for key in ENDPOINTS:
            stmts, n = run.meter.by_statement.get(key), len(run.rows.get(key, {}).get("cpu", []))
            if not stmts or not n:
                continue
            print(f"{key} ({n} requests)")
            for text, runs in stmts.items():
                print(f"  {len(runs) / n:4.1f}x  wall {statistics.mean(r[0] for r in runs):6.2f}  "
                      f"db {statistics.mean(r[1] for r in runs):6.2f}  {text}")
    if args.profile:
        s = io.StringIO()
        pstats.Stats(run.profiler, stream=s).sort_stats(args.sort).print_stats(args.profile_lines)
        print(f"\ncProfile of '{args.profile}' requests (sorted by {args.sort}):")
        print(s.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/followup_h5_load")
    ap.add_argument("--calls", type=int, default=200, help="caller rounds measured (next call, dial, form)")
    ap.add_argument("--warmup", type=int, default=20, help="rounds first, not measured (caches, pool)")
    ap.add_argument("--users", nargs="+", default=["n010", "c060"], help="callers, taking turns")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", help="cProfile the requests whose endpoint contains this text")
    ap.add_argument("--statements", action="store_true",
                    help="also each SQL statement's wall and PostgreSQL CPU time, per endpoint")
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--profile-lines", type=int, default=45)
    args = ap.parse_args()
    os.environ.update(KEYS)
    os.environ.update(SETTINGS)
    os.environ["DATABASE_URL"] = args.database
    os.environ.pop("REDIS_URL", None)
    from followup import create_app
    from followup.extensions import db
    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    with app.app_context():
        meter = Meter(db.engine)
        if args.statements:
            meter.by_statement = defaultdict(lambda: defaultdict(list))
        # What the cron's deadline watch does every minute: claims abandoned by an earlier run
        # go back to the queue (a copied database keeps the load run's last claims).
        from followup.calls.queueing import release_expired_claims
        from followup.core.clock import utcnow
        print(f"abandoned claims released first (as the deadline watch would): {release_expired_claims(utcnow())}")
        db.session.commit()
    run = Run(app, meter, args.profile)
    anon = app.test_client()
    callers = [sign_in(app, u) for u in args.users]
    rng = random.Random(args.seed)
    for i in range(args.warmup + args.calls):
        run.measuring = i >= args.warmup
        client, csrf = callers[i % len(callers)]
        run.send("GET /healthz", anon, "GET", "/healthz")
        run.send("GET /api/v1/me", client, "GET", "/api/v1/me")
        one_call(run, client, csrf, rng)
    report(run, args)


if __name__ == "__main__":
    main()
