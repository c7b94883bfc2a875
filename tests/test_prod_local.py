"""bin/prod-local brings the production topology up (gunicorn with several workers, two rq
workers, cron) against the local PostgreSQL and Redis, runs a job end to end, and stops it all.
PostgreSQL and Redis are required whatever backend the rest of the suite runs on."""
import json
import os
import socket
import subprocess
import time
import urllib.request

import pytest
from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prod_local(*args):
    return subprocess.run([os.path.join(ROOT, "bin", "prod-local"), *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def topology(redis_url):
    base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/followup_test")
    u = make_url(base)
    if not u.drivername.startswith("postgresql"):
        pytest.fail("TEST_DATABASE_URL must be PostgreSQL or unset for this test")
    url = u.set(drivername="postgresql", database=f"{u.database}_prodlocal").render_as_string(hide_password=False)
    name, port = f"test-{os.getpid()}", _free_port()
    started = _prod_local("start", "--name", name, "--database", url, "--redis", redis_url, "--port", str(port),
                          "--web-workers", "2", "--cron-interval", "1")
    assert started.returncode == 0, started.stdout + started.stderr
    info = json.loads(started.stdout.strip().splitlines()[-1])
    yield info, name
    _prod_local("stop", "--name", name)


def test_prod_local_starts_every_process_runs_a_job_and_stops_cleanly(topology):
    info, name = topology
    assert set(info["pids"]) == {"web", "web-reports", "worker-imports", "worker-reports", "cron"}
    # The reports pool at niceness 10, everything else at 0 (/proc/<pid>/stat field 19).
    nice = {n: int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16]) for n, pid in info["pids"].items()}
    assert nice == {"web": 0, "web-reports": 10, "worker-imports": 0, "worker-reports": 0, "cron": 0}
    # The reports pool answers the report pages' prefixes on its own port, with its own log.
    assert info["reports_base"] != info["base"] and "qa" in info["report_prefixes"]
    with urllib.request.urlopen(urllib.request.Request(f"{info['reports_base']}/qa/summary",
                                                       headers={"X-Request-ID": "smoke-test-0002"})) as r:
        assert r.status == 200 and "login" in r.url  # signed out: sent to the login page
    assert json.loads(_prod_local("status", "--name", name).stdout) == dict.fromkeys(info["pids"], "running")
    with urllib.request.urlopen(urllib.request.Request(f"{info['base']}/healthz",
                                                       headers={"X-Request-ID": "smoke-test-0001"})) as r:
        assert r.status == 200 and r.headers["X-Request-ID"] == "smoke-test-0001"
    web_children = subprocess.run(["pgrep", "-P", str(info["pids"]["web"])], capture_output=True, text=True)
    assert len(web_children.stdout.split()) == 2  # two gunicorn workers under the master
    # cron submits the periodic jobs; a worker runs them and logs JSON lines with the job's ids.
    # Both workers listen on the default queue, so either may take them (CI once saw only
    # worker-reports take the periodic jobs for a whole minute): read both logs.
    worker_logs = [os.path.join(info["state"], f"worker-{q}.log") for q in ("imports", "reports")]
    deadline = time.monotonic() + 90
    done = []
    while time.monotonic() < deadline and not done:
        time.sleep(1)
        for worker_log in worker_logs:
            with open(worker_log, encoding="utf-8") as fh:
                done += [json.loads(line) for line in fh if line.startswith("{") and '"job done"' in line]
    assert done and done[0]["outbox_id"] and done[0]["job"]
    with open(os.path.join(info["state"], "access.log")) as fh:
        line = [ln for ln in fh if "smoke-test-0001" in ln][0].rstrip("\n").split("\t")
    assert line[1:4] == ["GET", "/healthz", "200"] and int(line[4]) > 0  # %(D)s: server-side µs
    with open(os.path.join(info["state"], "access-reports.log")) as fh:
        seen = [ln.split("\t")[1:4] for ln in fh if "smoke-test-0002" in ln]
    assert seen[0] == ["GET", "/qa/summary", "302"]  # then the login page it sent us to (same request id)

    stopped = json.loads(_prod_local("stop", "--name", name).stdout)
    assert stopped == {"stopped": sorted(info["pids"]), "killed_after_grace": []}
    for pid in info["pids"].values():
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
    assert _prod_local("status", "--name", name).returncode == 1
