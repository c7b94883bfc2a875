"""A real rq worker (a `flask followup worker` process on real Redis) killed with SIGKILL in the
middle of an import; the batch re-run leaves exactly the right rows: none lost, none twice."""
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from followup.imports.batches import dispatch_batch, receive_bytes
from followup.core.clock import utcnow
from followup.jobs.maintenance import reconcile
from followup.models import Discharge, FollowupTask
from followup.models.imports import ImportBatch
from tests.conftest import TEST_KEYS
from tests.import_files import csv_bytes, row

ROOT = Path(__file__).resolve().parent.parent
ROWS = 4000


def worker(database_url, redis_url, *extra, pool=False):
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "FOLLOWUP_SECRET_KEY": "test", "FOLLOWUP_FIELD_KEY": TEST_KEYS["FIELD_KEY"],
           "FOLLOWUP_INDEX_KEY": TEST_KEYS["INDEX_KEY"], "FOLLOWUP_IMPORT_CHUNK_ROWS": "40",
           "FOLLOWUP_IMPORT_LEASE_SECONDS": "2",
           # with pool=True the work horse prepares rows in 2 worker processes of its own
           "FOLLOWUP_IMPORT_POOL_MIN_ROWS": "0" if pool else "1000000", "FOLLOWUP_IMPORT_PROCESSES": "2"}
    return subprocess.Popen([str(ROOT / ".venv/bin/flask"), "followup", "worker", "--queue", "imports", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def descendants(pid: int) -> list[int]:
    """Child processes (the rq work horse runs in its own process group, so kill it by pid)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            out += [int(child), *descendants(int(child))]
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; its parent (dead too) will not reap it


def progress(db, batch_id):
    return db.session.execute(text("SELECT rows_done, status FROM import_batch WHERE id = :i"),
                              {"i": batch_id}).one()


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "worker-processes"])
def test_a_worker_killed_mid_import_and_the_batch_re_run_leaves_exactly_the_right_rows(
        make_app, database_url, redis_url, db, pool):
    app = make_app(REDIS_URL=redis_url, IMPORT_LEASE_SECONDS=2)
    with app.app_context():
        from tests.conftest import World
        w = World()
        data = csv_bytes([row(no=f"K{i:05d}", id_number="", phone=f"138{i:08d}",
                              disposition="5" if i % 10 == 0 else "1") for i in range(ROWS)])
        batch, _ = receive_bytes(w.hospital_a, data, source=None, channel="api", now=utcnow())
        db.session.commit()
        dispatch_batch(batch)  # into Redis; nobody runs it yet
        first = worker(database_url, redis_url, pool=pool)
        try:
            deadline = time.monotonic() + 60
            while progress(db, batch.id).rows_done == 0:
                assert time.monotonic() < deadline, first.stderr.read1().decode() if first.poll() else "no chunk"
                db.session.rollback()
                time.sleep(0.02)
            processes = descendants(first.pid)
            horse = processes[:1]  # the direct child: rq's work horse
            # the worker and its work horse only: the horse's own worker processes must not outlive it
            for pid in [first.pid] + horse:
                os.kill(pid, signal.SIGKILL)
        finally:
            first.kill()
            first.wait()
        if pool:
            assert len(processes) >= 3, processes  # the horse and its 2 worker processes
        deadline = time.monotonic() + 10
        while alive := [pid for pid in processes if _running(pid)]:
            assert time.monotonic() < deadline, f"left running after the horse died: {alive}"
            time.sleep(0.1)
        db.session.rollback()
        done_at_kill, status = progress(db, batch.id)
        assert 0 < done_at_kill < ROWS and status == "running", (done_at_kill, status)
        committed = db.session.scalar(select(func.count()).select_from(Discharge))
        assert committed == done_at_kill  # each chunk is all-or-nothing, cursor included

        time.sleep(2.5)  # the dead run's lease lapses
        assert reconcile(now=utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)) == 1
        second = worker(database_url, redis_url, "--burst")
        assert second.wait(timeout=120) == 0, second.stderr.read().decode()[-2000:]
        db.session.expire_all()
        b = db.session.get(ImportBatch, batch.id)
        assert b.status == "completed" and (b.read, b.inserted, b.rejected) == (ROWS, ROWS, 0)
        assert db.session.scalar(select(func.count()).select_from(Discharge)) == ROWS
        assert db.session.scalar(select(func.count(func.distinct(Discharge.inpatient_no)))) == ROWS
        eligible = ROWS - ROWS // 10
        assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 2 * eligible
        per_discharge = select(FollowupTask.discharge_id, func.count().label("n")).group_by(
            FollowupTask.discharge_id).subquery()
        assert db.session.scalar(select(func.max(per_discharge.c.n))) == 2
        assert db.session.scalar(text("SELECT count(*) FROM import_payload_part")) == 0


def test_a_second_run_while_the_first_holds_the_lease_is_a_no_op(world, db):
    from followup.imports.run import ImportSettings, run_batch
    batch, _ = receive_bytes(world.hospital_a, csv_bytes([row()]), source=None, channel="cli", now=utcnow(),
                             submit_job=False)
    db.session.commit()
    db.session.execute(text("UPDATE import_batch SET lease_owner = 'other', lease_until = :t, status = 'running'"),
                       {"t": utcnow() + timedelta(minutes=1)})
    db.session.commit()
    assert run_batch(batch.id, ImportSettings.from_app(current_app)) == "busy"
    assert db.session.scalar(select(func.count()).select_from(Discharge)) == 0


def test_a_run_that_lost_its_lease_commits_nothing(world, db, app, monkeypatch):
    """Run A stalls past its lease, run B takes over; A's next chunk is refused and rolled back."""
    from followup.imports import write
    from followup.imports.run import ImportSettings, run_batch
    app.config["IMPORT_CHUNK_ROWS"] = 1
    batch, _ = receive_bytes(world.hospital_a, csv_bytes([row(no=f"L{i}", id_number="") for i in range(3)]),
                             source=None, channel="cli", now=utcnow(), submit_job=False)
    db.session.commit()
    real = write.ChunkWriter.write

    def taken_over(self, *args, **kwargs):
        db.session.execute(text("UPDATE import_batch SET lease_owner = 'run-b'"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(write.ChunkWriter, "write", taken_over)
    assert run_batch(batch.id, ImportSettings.from_app(current_app)) == "lost"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Discharge)) == 0
    assert progress(db, batch.id).rows_done == 0



def test_a_real_worker_ends_an_unreadable_file_failed_with_its_reason_and_a_re_upload_runs_again(
        make_app, database_url, redis_url, db):
    """Issue 17 item 1 through rq: the job used to raise, the batch stayed "running" with its lease,
    the outbox retried five times into "held by another run", and a re-upload mapped to it."""
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry, StartedJobRegistry
    from followup.jobs import QUEUE_IMPORTS
    from followup.models import OutboxJob
    from tests.test_import_faults import HUGE_LINE
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        from tests.conftest import World
        w = World()
        data = csv_bytes([row(), HUGE_LINE])
        batch, _ = receive_bytes(w.hospital_a, data, source=None, channel="api", now=utcnow())
        db.session.commit()
        dispatch_batch(batch)
        run = worker(database_url, redis_url, "--burst")
        assert run.wait(timeout=120) == 0, run.stderr.read().decode()[-2000:]
        db.session.expire_all()
        b = db.session.get(ImportBatch, batch.id)
        assert (b.status, b.lease_owner) == ("failed", None) and "超过 4 MB" in b.error_text
        job = db.session.scalar(select(OutboxJob).where(OutboxJob.dedupe_key == f"import:{batch.id}"))
        assert (job.state, job.attempts) == ("done", 1)
        queue = Queue(QUEUE_IMPORTS, connection=Redis.from_url(redis_url))
        assert len(StartedJobRegistry(queue=queue)) == 0 and len(FailedJobRegistry(queue=queue)) == 0
        again, created = receive_bytes(w.hospital_a, data, source=None, channel="api", now=utcnow())
        db.session.commit()
        assert created and again.id != batch.id
        dispatch_batch(again)
        run = worker(database_url, redis_url, "--burst")
        assert run.wait(timeout=120) == 0, run.stderr.read().decode()[-2000:]
        db.session.expire_all()
        assert db.session.get(ImportBatch, again.id).status == "failed"
        assert db.session.scalar(select(func.count()).select_from(Discharge)) == 0
