"""bin/prod-local: start, inspect and stop the production topology on one machine.

Each process runs in its own session (process group) with its pid in the state folder
(instance/prod-local/<name>/), so `stop` ends exactly what `start` started, never anything else.
"""
import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")


def state_dir(name: str) -> str:
    return os.path.join(ROOT, "instance", "prod-local", name)


def _secrets(folder: str) -> dict:
    """Keys made once per state folder (0600), so restarts can read what was encrypted before."""
    path = os.path.join(folder, "secrets.json")
    if not os.path.exists(path):
        keys = {"FOLLOWUP_SECRET_KEY": os.urandom(32).hex(),
                "FOLLOWUP_FIELD_KEY": base64.b64encode(os.urandom(32)).decode(),
                "FOLLOWUP_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
                "FOLLOWUP_AUDIT_KEY": base64.b64encode(os.urandom(32)).decode()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(keys, fh)
    with open(path) as fh:
        keys = json.load(fh)
    keys.setdefault("FOLLOWUP_AUDIT_KEY", base64.b64encode(os.urandom(32)).decode())  # folders made before it
    return keys


def environment(args, folder: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "GUNICORN_"))}
    env.update(_secrets(folder))
    env.update({
        "FLASK_APP": "wsgi.py", "DATABASE_URL": args.database, "REDIS_URL": args.redis,
        "FOLLOWUP_SECURE_COOKIES": "0",  # plain http on loopback
        "FOLLOWUP_LOG_JSON": "1",
        "FOLLOWUP_AUDIT_CHECKPOINT_PATH": os.path.join(folder, "audit-checkpoints.jsonl"),
        "GUNICORN_BIND": f"127.0.0.1:{args.port}", "GUNICORN_WORKERS": str(args.web_workers),
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_ACCESSLOG": os.path.join(folder, "access.log"),
        "GUNICORN_ERRORLOG": os.path.join(folder, "web.log"),
        "GUNICORN_CONTROL_SOCKET": os.path.join(folder, "gunicorn.ctl"),
        "PYTHONUNBUFFERED": "1",
    })
    for item in args.env or []:  # extra settings: --env FOLLOWUP_CALLING_HOURS=00:00-24:00
        k, _, v = item.partition("=")
        env[k] = v
    return env


# The pages that read months of data (QA summaries, ledgers, the commission's and auditors'
# pages) are served by their own gunicorn pool, as nginx routes them in production
# (deploy/nginx/followup.conf, `location ~ ^/(…)/` → followup_reports): a summary holds its worker's
# interpreter for a second or two of CPU, and the callers' requests must not queue behind it. A test
# holds this list and the nginx location equal.
REPORT_PREFIXES = ("qa", "ledger", "commission", "quality", "sampling", "audit", "findings", "escalation")
# The reports pool yields the CPU to the callers' pool: niceness 10 (systemd: Nice=10 in its unit).
# Not the rq workers nor cron by default: they write rows callers lock (the deadline watch, imports),
# and a niced job holding row locks would make callers wait the longer for them (priority
# inversion). Measured (bench/load.py --jobs-nice, 50 callers, 3 minutes each, 2026-12-01): the
# workers at 10 gave next-call p99 90.8 ms, at 0 71.9 and 195.4 ms in two runs of the same
# settings: the run-to-run spread of this shared machine is larger than the effect. Niced, the
# slow next calls still overlapped an import (35% of them, against 9% of all next calls; 28% and
# 14% at 0): the import's PostgreSQL backend is not niced. So the default stays 0; --jobs-nice is
# there to measure it on a quieter machine.
REPORTS_NICE = 10
JOBS_NICE = 0


def is_report_path(path: str, prefixes=REPORT_PREFIXES) -> bool:
    """Does nginx send this path (a query string allowed) to the reports pool?"""
    return path.lstrip("/").split("/", 1)[0].split("?", 1)[0] in prefixes


def processes(args, folder: str) -> dict[str, tuple[list[str], dict]]:
    """name → (command line, environment overlay)."""
    flask, gunicorn = os.path.join(VENV, "flask"), os.path.join(VENV, "gunicorn")
    nice = ["nice", "-n", str(REPORTS_NICE)]
    jobs_nice = ["nice", "-n", str(args.jobs_nice)] if getattr(args, "jobs_nice", 0) else []
    out = {
        "web": ([gunicorn, "-c", "deploy/gunicorn.conf.py", "wsgi:app"], {}),
        "worker-imports": (jobs_nice + [flask, "followup", "worker", "--queue", "imports", "--queue", "default"], {}),
        "worker-reports": (jobs_nice + [flask, "followup", "worker", "--queue", "reports", "--queue", "default"], {}),
        "cron": ([flask, "followup", "cron", "--interval", str(args.cron_interval)], {}),
    }
    if args.report_workers:
        out["web-reports"] = (nice + [gunicorn, "-c", "deploy/gunicorn.conf.py", "wsgi:app"], {
            "GUNICORN_BIND": f"127.0.0.1:{args.port + 1}", "GUNICORN_WORKERS": str(args.report_workers),
            "GUNICORN_THREADS": "4",
            "GUNICORN_ACCESSLOG": os.path.join(folder, "access-reports.log"),
            "GUNICORN_ERRORLOG": os.path.join(folder, "web-reports.log"),
            "GUNICORN_CONTROL_SOCKET": os.path.join(folder, "gunicorn-reports.ctl")})
    return out


def ensure_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url
    u = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = u.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{u.database}"')


def _pids(folder: str) -> dict:
    path = os.path.join(folder, "pids.json")
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        return json.load(fh)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(args) -> int:
    folder = state_dir(args.name)
    os.makedirs(folder, exist_ok=True)
    if any(_alive(p) for p in _pids(folder).values()):
        print(f"already running ({folder}); bin/prod-local stop --name {args.name} first")
        return 1
    env = environment(args, folder)
    ensure_database(args.database)
    subprocess.run([os.path.join(VENV, "flask"), "db", "upgrade", "heads"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    if args.seed_demo:
        subprocess.run([os.path.join(VENV, "flask"), "followup", "seed-demo", "--credentials-file",
                        os.path.join(folder, "demo-accounts.txt")], env=env, cwd=ROOT, check=True)
    pin = ["taskset", "-c", args.server_cpus] if args.server_cpus else []
    pids = {}
    for name, (cmd, overlay) in processes(args, folder).items():
        log = open(os.path.join(folder, f"{name}.log"), "ab")
        proc = subprocess.Popen(pin + cmd, env={**env, **overlay}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        pids[name] = proc.pid
    with open(os.path.join(folder, "pids.json"), "w") as fh:
        json.dump(pids, fh)
    base = f"http://127.0.0.1:{args.port}"
    reports = f"http://127.0.0.1:{args.port + 1}" if args.report_workers else base
    if not all(_wait_healthy(b, pids, args.wait) for b in {base, reports}):
        print(f"web did not answer /healthz in {args.wait} s; logs in {folder}")
        stop(args)
        return 1
    print(json.dumps({"base": base, "reports_base": reports, "report_prefixes": list(REPORT_PREFIXES),
                      "state": folder, "pids": pids, "database": args.database, "redis": args.redis}))
    return 0


def _wait_healthy(base: str, pids: dict, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not all(_alive(p) for p in pids.values()):
            return False
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def status(args) -> int:
    pids = _pids(state_dir(args.name))
    report = {name: ("running" if _alive(pid) else "stopped") for name, pid in pids.items()}
    print(json.dumps(report))
    return 0 if report and all(v == "running" for v in report.values()) else 1


def stop(args) -> int:
    """SIGTERM to each process group (gunicorn: graceful; rq: warm shutdown, the current job
    finishes; cron: after its pass), then SIGKILL what is left after --grace seconds."""
    folder = state_dir(args.name)
    pids = _pids(folder)
    for pid in pids.values():
        if _alive(pid):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.2)
    killed = [name for name, pid in pids.items() if _alive(pid)]
    for name in killed:
        os.killpg(pids[name], signal.SIGKILL)
    for pid in pids.values():  # reap: they are our children only when started in this process
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    if os.path.exists(os.path.join(folder, "pids.json")):
        os.remove(os.path.join(folder, "pids.json"))
    print(json.dumps({"stopped": sorted(pids), "killed_after_grace": killed}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bin/prod-local", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["start", "status", "stop"])
    ap.add_argument("--name", default="default", help="state folder under instance/prod-local/")
    ap.add_argument("--database", default=os.environ.get(
        "PROD_LOCAL_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/followup_prodlocal"))
    ap.add_argument("--redis", default=os.environ.get("PROD_LOCAL_REDIS_URL", "redis://127.0.0.1:6379/9"))
    ap.add_argument("--port", type=int, default=8300)
    ap.add_argument("--web-workers", type=int, default=6 * (os.cpu_count() or 1),
                    help="the callers' pool's gunicorn workers (deploy/gunicorn.conf.py: 6 per core)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report-workers", type=int, default=1,
                    help="gunicorn workers of the reports pool on --port + 1 (0: the main pool serves every page)")
    ap.add_argument("--jobs-nice", type=int, default=JOBS_NICE,
                    help="niceness of the two rq workers (imports, draws, summaries run there)")
    ap.add_argument("--cron-interval", type=int, default=10)
    ap.add_argument("--server-cpus", default="", help="taskset CPU list for every server process, e.g. 1")
    ap.add_argument("--seed-demo", action="store_true")
    ap.add_argument("--env", action="append", help="extra NAME=VALUE for every process")
    ap.add_argument("--wait", type=float, default=60)
    ap.add_argument("--grace", type=float, default=30)
    args = ap.parse_args(argv)
    return {"start": start, "status": status, "stop": stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
