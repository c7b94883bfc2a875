"""The deadline watch: abandoned claims return, at-risk tasks are flagged once, lost tasks are
marked; run as a periodic job by a real rq worker on Redis."""
from datetime import timedelta

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from followup import jobs
from followup.calls.watch import flag_at_risk, watch
from followup.core.clock import utcnow
from followup.jobs.maintenance import tick
from followup.models import FollowupTask, JobState, OutboxJob, TaskStatus
from followup.models.call import CallAttempt, Outcome

from .conftest import at


def test_at_risk_tasks_are_flagged_once_without_making_callers_stale(db, world, ward_tasks):
    first = ward_tasks[0]  # due 26 Nov 00:00
    version = first.version
    assert flag_at_risk(at(24, 23)) == 0
    assert flag_at_risk(at(25, 1)) == 2  # the ward and hospital tasks of that discharge
    assert flag_at_risk(at(25, 2)) == 0
    db.session.expire_all()
    assert first.at_risk_at == at(25, 1) and first.version == version


def test_the_watch_returns_claims_flags_and_marks_lost(db, world, ward_tasks):
    now = at(21, 9)  # long before the other tasks come near their deadlines
    claimed, lost, soon = ward_tasks
    claimed.status, claimed.claimed_by_id, claimed.claimed_at = TaskStatus.CLAIMED, world.nurse.id, now - timedelta(hours=1)
    lost.due_at = now - timedelta(minutes=1)
    for days_ago in (1, 1, 2, 2, 3):
        db.session.add(CallAttempt(task_id=lost.id, caller_id=world.nurse.id, outcome=Outcome.NO_ANSWER,
                                   at=now - timedelta(days=days_ago, minutes=5)))
    soon.due_at = now + timedelta(hours=3)
    db.session.commit()
    assert watch(now) == {"released": 1, "at_risk": 2, "lost": 1}
    db.session.commit()
    db.session.expire_all()
    assert claimed.status == TaskStatus.OPEN and claimed.claimed_by_id is None
    assert lost.status == TaskStatus.LOST and lost.close_reason == "unreachable"
    assert soon.at_risk_at == now
    assert watch(now) == {"released": 0, "at_risk": 0, "lost": 0}  # idempotent


def test_the_deadline_watch_runs_each_minute_through_a_real_rq_worker(make_app, redis_url, db, world, ward_tasks):
    task = ward_tasks[0]
    task.status, task.claimed_by_id, task.claimed_at = TaskStatus.CLAIMED, world.nurse.id, utcnow() - timedelta(hours=1)
    db.session.commit()
    worker_app = make_app(REDIS_URL=redis_url)
    with worker_app.app_context():
        from followup.jobs.queue import get_queue, redis_connection
        now = utcnow()
        rows = [r for r in tick(now) if r.name == "deadline_watch"]
        assert len(rows) == 1 and rows[0].dedupe_key.startswith("periodic:deadline-watch:")
        assert [r.id for r in tick(now) if r.name == "deadline_watch"] == [rows[0].id]  # once a minute
        q = get_queue(jobs.registered()["deadline_watch"][1])
        assert q.count >= 1
        SimpleWorker([q], connection=redis_connection(), serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()
        assert db.session.get(OutboxJob, rows[0].id).state == JobState.DONE
        assert db.session.scalar(select(FollowupTask.status).where(FollowupTask.id == task.id)) == TaskStatus.OPEN


def test_without_redis_the_cron_pass_runs_the_watch_in_process(db, world, ward_tasks, runner):
    task = ward_tasks[0]
    task.status, task.claimed_by_id, task.claimed_at = TaskStatus.CLAIMED, world.nurse.id, utcnow() - timedelta(hours=1)
    db.session.commit()
    result = runner.invoke(args=["followup", "cron", "--once"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(FollowupTask, task.id).status == TaskStatus.OPEN


def test_the_watch_never_waits_for_a_caller_holding_a_task(db, world, ward_tasks):
    """A task a caller holds locked (claiming it, saving its form) is left for the next pass: the
    watch does not wait for it, so it can neither deadlock with the caller nor keep callers
    waiting behind a long bulk update (bench/load.py saw both). SQLite has one writer at a time:
    there the task is simply flagged."""
    from sqlalchemy import text
    now = at(21, 9)
    held, other, _ = ward_tasks
    held.due_at = other.due_at = now + timedelta(hours=3)
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    caller = db.engine.connect()
    try:
        if postgres:
            caller.execute(select(FollowupTask.id).where(FollowupTask.id == held.id).with_for_update())
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail loudly
        result = watch(now)
        db.session.commit()
        db.session.expire_all()
        assert (held.at_risk_at is None) is postgres and other.at_risk_at == now
        assert result["at_risk"] == (1 if postgres else 2)
    finally:
        caller.rollback()
        caller.close()
    assert watch(now + timedelta(minutes=1))["at_risk"] == (1 if postgres else 0)  # the next pass takes it
    db.session.commit()
