"""The periodic jobs of issue 14 (escalation hourly, the QC draws monthly, the commission lock
daily) submitted by the cron tick and run by a real rq worker from real Redis, JSON only."""
from datetime import date, timedelta

import time_machine
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from followup import jobs
from followup.jobs.maintenance import tick
from followup.models import JobState, Level, OutboxJob
from followup.models.call import WardFollowup
from followup.models.notification import EscalationStep, Notification
from followup.models.quality import QcSample
from followup.models.scoring import CommissionSnapshot

from .conftest import local


def test_cron_tick_and_an_rq_worker_run_escalation_qc_draw_and_the_lock(make_app, redis_url, staffed, db):
    w = staffed
    d = w.discharge(w.cardiology, discharged=date(2026, 11, 10))
    done = next(t for t in d.tasks if t.level == Level.WARD)
    done.status, done.completed_at = "done", local(2026, 11, 12)
    db.session.add(WardFollowup(task_id=done.id, recorded_by_id=w.nurse.id, condition="improved"))
    db.session.commit()  # the hospital-level task stays open, 15 days late by 3 December
    app = make_app(REDIS_URL=redis_url)
    with time_machine.travel(local(2026, 12, 3, 1, 5), tick=True), app.app_context():
        from followup.jobs.queue import get_queue, redis_connection
        jobs.registered()
        rows = tick()
        names = {r.name for r in rows}
        assert {"escalate", "qc_draws", "commission_lock"} <= names
        SimpleWorker([get_queue(q) for q in jobs.QUEUES], connection=redis_connection(),
                     serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()
        states = dict(db.session.execute(select(OutboxJob.name, OutboxJob.state)).all())
        assert all(states[n] == JobState.DONE for n in ("escalate", "qc_draws", "qc_draw", "commission_lock")), states
        assert db.session.scalar(select(func.count()).select_from(EscalationStep)) == 4  # all four steps, once
        assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == w.qa.id)) == 1
        sample = db.session.scalar(select(QcSample).where(QcSample.hospital_id == w.hospital_a.id))
        assert sample.month == "2026-11" and [r.task_id for r in sample.reviews] == [done.id]
        assert db.session.scalar(select(CommissionSnapshot.month)) == "2026-11"
        # the next hour's tick: the escalation job runs again and takes no step twice
        tick(local(2026, 12, 3, 2, 5) + timedelta(minutes=1))
        SimpleWorker([get_queue(q) for q in jobs.QUEUES], connection=redis_connection(),
                     serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.name == "escalate")) == 2
        assert db.session.scalar(select(func.count()).select_from(EscalationStep)) == 4
