"""Jobs carry no personal data: real rq workers (in-process SimpleWorker, and a subprocess
`flask followup worker --burst`) run jobs that open a patient's record; their logs and every
Redis key are then searched for phone, ID-number and name patterns. Failed jobs expire soon."""
import logging
import os
import re
import subprocess
import sys

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

import pii_probe_jobs  # noqa: F401  (registers the probe jobs)
from followup import jobs
from followup.extensions import db as _db
from followup.jobs.queue import get_queue, redis_connection
from followup.models import JobState, OutboxJob
from followup.patients.identity import set_id_number

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NAME, PHONE, ID_NUMBER = "欧阳娜娜", "13812345678", "11010519491231002X"
# A mobile number standing alone: not inside a longer run of letters and digits, such as rq's random
# hex worker names and execution ids ("…4c19826763154f…" once failed this test with no leak in it).
PATTERNS = [re.compile(p) for p in (r"(?<![\dA-Za-z])1[3-9]\d{9}(?![\dA-Za-z])",
                                    r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])", NAME, "欧阳", PHONE, ID_NUMBER)]


def _hits(text: str) -> list[str]:
    return [m.group(0) for p in PATTERNS for m in p.finditer(text)]


def test_the_patterns_would_catch_a_leak():
    assert _hits(f"job for {NAME} +86{PHONE}, id {ID_NUMBER}") and not _hits("stream 1795628815738-0 outbox-12-0")
    assert _hits("tel 13900001111,") and not _hits("worker_name 488f4c19826763154f8c0420d8dafcb1")


def _redis_dump(conn) -> str:
    """Every key and value in the test's Redis database, as text."""
    out = []
    for key in conn.scan_iter("*"):
        kind = conn.type(key).decode()
        value = {"hash": lambda: conn.hgetall(key), "list": lambda: conn.lrange(key, 0, -1),
                 "set": lambda: conn.smembers(key), "zset": lambda: conn.zrange(key, 0, -1),
                 "string": lambda: conn.get(key), "stream": lambda: conn.xrange(key)}.get(kind, lambda: b"")()
        out.append(f"{key!r} {value!r}")
    text = "\n".join(out)
    return text.encode().decode("unicode_escape", errors="ignore") + "\n" + text


def _patient(world):
    d = world.discharge(name=NAME, phone="+86" + PHONE)
    set_id_number(d.patient, ID_NUMBER)
    _db.session.commit()
    return d


def _submit(name, *args):
    row = jobs.submit(name, *args)
    _db.session.commit()
    jobs.dispatch([row.id])
    return row.id


class _Capture(logging.Handler):
    """Every record from rq and our code, whatever their loggers' propagation settings."""
    NAMES = ("", "rq", "rq.worker", "rq.job", "followup")

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record) + (self.formatter.formatException(record.exc_info)
                                                 if record.exc_info else ""))

    def __enter__(self):
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        # The session fixture's Alembic run (fileConfig) disabled the loggers that existed then.
        for name in list(logging.root.manager.loggerDict):
            if name.startswith(("rq", "followup")):
                logging.getLogger(name).disabled = False
        for name in self.NAMES:
            logging.getLogger(name).addHandler(self)
            logging.getLogger(name).setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        for name in self.NAMES:
            logging.getLogger(name).removeHandler(self)


def test_in_process_rq_worker_logs_and_redis_hold_no_personal_data(world, make_app, redis_url):
    d = _patient(world)
    rapp = make_app(REDIS_URL=redis_url, JOB_FAILURE_TTL=600)
    with rapp.app_context():
        ok_id = _submit("test_pii_probe", d.id)
        bad_id = _submit("test_pii_probe_fails", d.id)
        conn = redis_connection()
        assert conn.llen("rq:queue:default") == 2
        worker = SimpleWorker([get_queue(q) for q in jobs.QUEUES], connection=conn, serializer=JSONSerializer)
        worker.log_job_description = False
        with _Capture() as capture:
            worker.work(burst=True, logging_level="DEBUG")
        _db.session.expire_all()
        states = dict(_db.session.execute(select(OutboxJob.id, OutboxJob.state)).all())
        assert states[ok_id] == JobState.DONE and states[bad_id] == JobState.PENDING  # retried later
        logs = "\n".join(capture.lines)
        assert "probed discharge" in logs and "probe failed for discharge" in logs  # the jobs ran
        assert not _hits(logs), _hits(logs)
        dump = _redis_dump(conn)
        assert "outbox" in dump and not _hits(dump), _hits(dump)
        failed = [k for k in conn.scan_iter("rq:job:*") if conn.hget(k, "status") == b"failed"]
        assert failed and all(0 < conn.ttl(k) <= 600 for k in failed)  # JOB_FAILURE_TTL, not a year
        last_error = _db.session.get(OutboxJob, bad_id).last_error
        assert "probe failed" in last_error and not _hits(last_error)


def test_subprocess_worker_command_logs_no_personal_data(world, make_app, redis_url, database_url):
    d = _patient(world)
    rapp = make_app(REDIS_URL=redis_url)
    with rapp.app_context():
        ok_id = _submit("test_pii_probe", d.id)
        _submit("test_pii_probe_fails", d.id)
    env = {**os.environ, "DATABASE_URL": database_url.replace("+psycopg", ""), "REDIS_URL": redis_url,
           "FOLLOWUP_SECRET_KEY": "test-secret-key", "FOLLOWUP_FIELD_KEY": rapp.config["FIELD_KEY"],
           "FOLLOWUP_INDEX_KEY": rapp.config["INDEX_KEY"], "PYTHONPATH": os.pathsep.join([HERE, ROOT]), "FLASK_APP": "worker_app"}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    out = subprocess.run([flask, "followup", "worker", "--burst"], env=env, cwd=HERE,
                         capture_output=True, text=True, timeout=120)
    logs = out.stdout + out.stderr
    assert out.returncode == 0, logs[-2000:]
    assert "outbox-" in logs  # rq logged the jobs it ran (by id)
    assert not _hits(logs), _hits(logs)
    assert not _hits(_redis_dump(redis.Redis.from_url(redis_url)))
    _db.session.expire_all()
    assert _db.session.get(OutboxJob, ok_id).state == JobState.DONE
