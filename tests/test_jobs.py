"""Background work: the outbox, idempotent runs, the reconciler, and a real rq worker on Redis."""
import json
import zlib
from datetime import timedelta

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select, update

from followup import jobs
from followup.core.clock import utcnow
from followup.jobs.maintenance import reconcile
from followup.models import AuditEvent, JobState, OutboxJob


@jobs.job("test_write_once")
def write_once(marker: int):
    """Idempotent by construction: writes its marker only if it is not there yet."""
    from followup.core import audit
    from followup.extensions import db
    if not db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "test.job",
                                                         AuditEvent.object_id == marker)):
        audit.record("test.job", object_id=marker)
        db.session.commit()


@jobs.job("test_fails")
def always_fails(_x: int):
    raise RuntimeError("boom")


def _markers(db):
    return db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "test.job")).all()


def test_inline_mode_runs_after_dispatch_and_a_second_run_is_a_no_op(app, db):
    row = jobs.submit("test_write_once", 7)
    db.session.commit()
    jobs.dispatch([row.id])
    assert _markers(db) == [7]
    assert db.session.get(OutboxJob, row.id).state == JobState.DONE
    assert jobs.run_outbox(row.id) == "skipped"
    assert _markers(db) == [7]


def test_dedupe_key_makes_a_second_submit_return_the_first(app, db):
    a = jobs.submit("test_write_once", 1, dedupe_key="k1")
    b = jobs.submit("test_write_once", 1, dedupe_key="k1")
    assert a.id == b.id


def test_unknown_job_names_cannot_be_submitted(app):
    try:
        jobs.submit("os.system", "rm -rf /")
        raise AssertionError("accepted an unregistered job")
    except KeyError:
        pass


def test_a_failing_job_is_retried_until_max_attempts_then_failed(app, db):
    row = jobs.submit("test_fails", 1, max_attempts=2)
    db.session.commit()
    jobs.dispatch([row.id])
    assert db.session.get(OutboxJob, row.id).state == JobState.PENDING
    reconcile(now=utcnow())
    db.session.expire_all()
    row = db.session.get(OutboxJob, row.id)
    assert row.state == JobState.FAILED and row.attempts == 2 and "boom" in row.last_error


def test_a_running_job_is_not_taken_twice_until_its_lease_lapses(app, db):
    row = jobs.submit("test_write_once", 3)
    db.session.commit()
    db.session.execute(update(OutboxJob).where(OutboxJob.id == row.id).values(
        state=JobState.RUNNING, lease_token="someone-else",
        lease_until=utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"])))
    db.session.commit()
    assert jobs.run_outbox(row.id) == "skipped"  # someone else holds it
    lapsed = utcnow() - timedelta(seconds=1)
    db.session.execute(update(OutboxJob).where(OutboxJob.id == row.id).values(lease_until=lapsed))
    db.session.commit()
    assert jobs.run_outbox(row.id) == "done"  # the holder died; the lease lapsed
    assert _markers(db) == [3]


def test_rq_worker_runs_outbox_jobs_from_real_redis_with_json_only(make_app, redis_url, db):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        from followup.jobs.queue import get_queue, redis_connection
        row = jobs.submit("test_write_once", 42)
        db.session.commit()
        jobs.dispatch([row.id])
        assert db.session.get(OutboxJob, row.id).state == JobState.ENQUEUED
        q = get_queue("default")
        rq_job = q.jobs[0]
        assert rq_job.args == [row.id] or rq_job.args == (row.id,)
        raw = zlib.decompress(redis_connection().hget(f"rq:job:{rq_job.id}", "data"))
        func_name, _instance, args, kwargs = json.loads(raw)  # JSON, not pickle
        assert (func_name, args, kwargs) == ("followup.jobs.run_outbox", [row.id], {})
        worker = SimpleWorker([q], connection=redis_connection(), serializer=JSONSerializer)
        worker.work(burst=True)
        db.session.expire_all()
        assert db.session.get(OutboxJob, row.id).state == JobState.DONE
        assert _markers(db) == [42]


def test_reconciler_re_drives_a_job_that_redis_lost(make_app, redis_url, db):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        from followup.jobs.queue import get_queue, redis_connection
        row = jobs.submit("test_write_once", 5)
        db.session.commit()
        jobs.dispatch([row.id])
        later = utcnow() + timedelta(seconds=6)  # past the few seconds an enqueue may take to mark
        assert reconcile(now=later) == 0  # still queued in Redis: nothing to re-drive
        redis_connection().flushdb()  # Redis restarted empty
        assert get_queue("default").count == 0
        assert reconcile(now=later) == 1  # re-driven at the next pass, not after a stale threshold
        SimpleWorker([get_queue("default")], connection=redis_connection(),
                     serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()
        assert db.session.get(OutboxJob, row.id).state == JobState.DONE
        assert _markers(db) == [5]


def test_with_redis_down_enqueue_leaves_the_job_pending(make_app, db):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT=0.5)
    with app.app_context():
        row = jobs.submit("test_write_once", 9)
        db.session.commit()
        jobs.dispatch([row.id])
        assert db.session.get(OutboxJob, row.id).state == JobState.PENDING
