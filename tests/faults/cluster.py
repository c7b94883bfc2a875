"""The fault suite's own servers and processes: a PostgreSQL cluster (initdb into a temp dir)
and a Redis on spare ports, never the shared ones, and the service's processes (gunicorn, rq
workers, cron) each under a small supervisor that restarts it when it exits, as systemd's
Restart=always would. A restart is counted: outages must not cause any."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # the environment running the suite runs the service too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root (CI runs as root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def children(pid: int) -> list[int]:
    """Direct children of pid, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Postgres:
    def __init__(self, root: Path):
        self.dir = root / "pg"
        self.data, self.sock = self.dir / "data", self.dir / "sock"
        self.port = free_port()
        self.log = self.dir / "postgres.log"

    def init(self):
        self.sock.mkdir(parents=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for p in (self.dir, self.sock):
                os.chown(p, pg.pw_uid, pg.pw_gid)
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True)
        self.start()

    def _ctl(self, *args, check=True):
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=80"
        return subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                                            "-o", opts, "-w", "-t", "60", *args]), check=check, capture_output=True)

    def start(self):
        self._ctl("start")

    def stop(self, mode="fast"):
        self._ctl("stop", "-m", mode)

    def restart(self, mode="fast"):
        self._ctl("restart", "-m", mode)

    def url(self, user="postgres", db="followup") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db="followup", params=None):
        import psycopg
        with psycopg.connect(self.url(db=db), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def destroy(self):
        self._ctl("stop", "-m", "immediate", check=False)


class Redis:
    def __init__(self, root: Path):
        self.dir = root / "redis"
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")])
        for _ in range(100):
            if self.cli("ping") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def cli(self, *args) -> str:
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return r.stdout.strip()

    def shutdown_empty(self):
        """FLUSHALL, then SHUTDOWN NOSAVE: it comes back with nothing."""
        self.cli("flushall")
        self.cli("shutdown", "nosave")
        self.proc.wait(timeout=10)

    def url(self, db=0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def destroy(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Service:
    """One long-running process under a restart-on-exit supervisor (like systemd Restart=always)."""

    def __init__(self, name: str, argv: list[str], env: dict, logdir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log = logdir / f"{name}.log"
        self.restarts = 0
        self.proc = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name=f"supervise-{name}", daemon=True)

    def start(self):
        self._spawn()
        self._thread.start()

    def _spawn(self):
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def _supervise(self):
        while not self._stop.is_set():
            if self.proc.poll() is not None and not self._stop.is_set():
                with self._lock:
                    time.sleep(1)
                    if self._stop.is_set():
                        return
                    self.restarts += 1
                    self._spawn()
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self):
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()


def remove_tree(path: Path):
    shutil.rmtree(path, ignore_errors=True)
