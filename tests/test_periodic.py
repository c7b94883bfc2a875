"""Periodic jobs: submitted once per period, whatever the number of cron passes or processes."""
from datetime import datetime

from sqlalchemy import func, select

from followup import jobs
from followup.core.clock import LOCAL_TZ
from followup.jobs import maintenance
from followup.jobs.maintenance import Periodic, tick
from followup.models import AuditEvent, OutboxJob

RUNS = []


@jobs.job("test_periodic_probe")
def probe(month: str):
    RUNS.append(month)


def test_a_monthly_job_runs_once_per_local_month_for_the_month_before(app, db, monkeypatch):
    RUNS.clear()
    jobs.registered()  # job modules append their own entries on import: import them first
    entry = Periodic("test-monthly", "test_periodic_probe", "month",
                     args_for=lambda now: (f"{now.astimezone(LOCAL_TZ):%Y-%m}",))
    monkeypatch.setattr(maintenance, "PERIODIC", [entry])
    # 1 Dec 00:30 in Shanghai is still 30 Nov in UTC: the local month decides.
    first = datetime(2026, 12, 1, 0, 30, tzinfo=LOCAL_TZ)
    tick(first)
    tick(first.replace(hour=5))          # a second pass in the same month: nothing new
    tick(datetime(2026, 12, 31, 23, 59, tzinfo=LOCAL_TZ))
    assert RUNS == ["2026-12"]
    tick(datetime(2027, 1, 1, 0, 1, tzinfo=LOCAL_TZ))
    assert RUNS == ["2026-12", "2027-01"]
    keys = db.session.scalars(select(OutboxJob.dedupe_key).order_by(OutboxJob.id)).all()
    assert keys == ["periodic:test-monthly:2026-12", "periodic:test-monthly:2027-01"]


def test_cron_once_reconciles_and_ticks(app, runner, db, monkeypatch):
    jobs.registered()
    monkeypatch.setattr(maintenance, "PERIODIC", [])
    out = runner.invoke(args=["followup", "cron", "--once"])
    assert out.exit_code == 0 and "re-drove 0 jobs" in out.output
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
