"""Periodic housekeeping: the reconciler that re-drives outbox work Redis lost or never got,
and the table of periodic jobs (declared as data, with stable ids)."""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..core.clock import local, utcnow
from ..extensions import db
from ..models import JobState, OutboxJob
from . import _hand_over, _load_job_modules, submit

log = logging.getLogger(__name__)


def reconcile(now: datetime | None = None) -> int:
    """Re-hand outbox rows that are pending, or enqueued/running but silent for too long
    (Redis restarted empty, a worker was killed). Jobs are idempotent, so a re-run is safe.
    Run by the cron process itself, not through a queue, so it works while Redis is empty."""
    now = now or utcnow()
    stale = now - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    rows = db.session.scalars(
        select(OutboxJob.id).where(
            or_(OutboxJob.state == JobState.PENDING,
                OutboxJob.state.in_([JobState.ENQUEUED, JobState.RUNNING]) & (OutboxJob.updated_at < stale)),
        ).order_by(OutboxJob.id).limit(1000)
    ).all()
    for oid in rows:
        # Back to pending (the run, if any, is presumed dead; its DB lease lapsed) and hand over.
        db.session.execute(update(OutboxJob).where(OutboxJob.id == oid)
                           .where(OutboxJob.state != JobState.DONE)
                           .values(state=JobState.PENDING, updated_at=now))
        db.session.commit()
        _hand_over(oid)
    if rows:
        log.info("reconciler re-drove %d outbox jobs", len(rows))
    return len(rows)


@dataclass(frozen=True)
class Periodic:
    id: str            # stable: part of the dedupe key, never renamed
    job: str           # registered job name
    period: str        # "minute" | "hour" | "day" | "month" (local calendar)
    args_for: object = None  # fn(now) -> args tuple, e.g. the month before


def _period_key(period: str, now: datetime) -> str:
    t = local(now)
    return {"minute": t.strftime("%Y-%m-%dT%H:%M"), "hour": t.strftime("%Y-%m-%dT%H"),
            "day": t.strftime("%Y-%m-%d"), "month": t.strftime("%Y-%m")}[period]


# Later features append their periodic jobs here (e.g. the monthly summary).
PERIODIC: list[Periodic] = []


def tick(now: datetime | None = None) -> list[OutboxJob]:
    """Submit each periodic job once per period. Idempotent: the dedupe key includes the period,
    so two cron processes, or a restart mid-period, never run a period twice."""
    now = now or utcnow()
    _load_job_modules()  # job modules append their entries to PERIODIC on import
    rows = []
    for p in PERIODIC:
        args = p.args_for(now) if p.args_for else ()
        rows.append(submit(p.job, *args, dedupe_key=f"periodic:{p.id}:{_period_key(p.period, now)}"))
    db.session.commit()
    for r in rows:
        if r.state == JobState.PENDING:
            _hand_over(r.id)
    return rows
