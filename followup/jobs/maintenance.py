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
    """Re-hand outbox rows nobody is going to run: pending ones (once their retry time, if any,
    has come), enqueued ones whose rq job Redis no longer holds (Redis flushed or restarted
    empty, the job failed before it could mark the row), and running ones whose lease lapsed (the
    worker was killed or frozen). Jobs are idempotent, so a re-run is safe. Run by the cron
    process itself, not through a queue, so it works while Redis is empty."""
    now = now or utcnow()
    cfg = current_app.config
    quiet = now - timedelta(seconds=min(5, cfg["JOB_LEASE_SECONDS"]))
    due = or_(OutboxJob.state == JobState.PENDING, OutboxJob.state == JobState.RUNNING)
    rows = db.session.execute(
        select(OutboxJob.id, OutboxJob.state, OutboxJob.attempts).where(
            or_(due & or_(OutboxJob.lease_until.is_(None), OutboxJob.lease_until < now),
                (OutboxJob.state == JobState.ENQUEUED) & (OutboxJob.updated_at < quiet)),
        ).order_by(OutboxJob.id).limit(1000)
    ).all()
    enqueued = [r for r in rows if r.state == JobState.ENQUEUED]
    if enqueued:
        stale = now - timedelta(seconds=cfg["JOB_LEASE_SECONDS"])
        alive = _still_queued(enqueued) if cfg.get("REDIS_URL") else {
            r.id for r in db.session.execute(select(OutboxJob.id).where(
                OutboxJob.id.in_([r.id for r in enqueued]), OutboxJob.updated_at >= stale))}
        rows = [r for r in rows if r.state != JobState.ENQUEUED or r.id not in alive]
    redriven = 0
    for r in rows:
        # Back to pending, only if nobody moved the row meanwhile, and hand over.
        # SKIP LOCKED: a row some transaction holds (a frozen process) is left for a later pass
        # rather than stopping the reconciler behind it.
        unmoved = select(OutboxJob.id).where(
            OutboxJob.id == r.id, OutboxJob.state == r.state, OutboxJob.attempts == r.attempts,
            or_(OutboxJob.lease_until.is_(None), OutboxJob.lease_until < now) if r.state != JobState.ENQUEUED
            else True).with_for_update(skip_locked=True)
        moved = db.session.execute(
            update(OutboxJob).where(OutboxJob.id.in_(unmoved))
            .values(state=JobState.PENDING, lease_token=None, lease_until=None, updated_at=now)).rowcount
        db.session.commit()
        if moved:
            _hand_over(r.id)
            redriven += 1
    if redriven:
        log.info("reconciler re-drove %d outbox jobs", redriven)
    return redriven


def _still_queued(rows) -> set[int]:
    """Outbox ids whose rq job Redis still holds as queued, started or scheduled. With Redis
    away nobody can tell: all are kept (they are looked at again once it is back), and the rest
    of the pass (periodic jobs, the audit checkpoint) goes on."""
    from redis.exceptions import RedisError
    from .queue import job_states
    try:
        states = job_states([(r.id, r.attempts) for r in rows])
    except RedisError as exc:
        log.warning("reconciler: Redis unavailable (%s); enqueued jobs checked next pass", exc)
        return {r.id for r in rows}
    return {oid for oid, st in states.items() if st in ("queued", "started", "scheduled", "deferred")}


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


def cron_pass(now: datetime) -> tuple[int, int]:
    """One pass of the cron process: re-drive lost work, submit due periodic jobs, and write a
    signed checkpoint of the audit chain's head outside the database."""
    from ..core.audit import write_checkpoint
    n = reconcile(now)
    rows = tick(now)
    write_checkpoint(now)
    return n, len(rows)


def run_cron(interval: float, should_stop, sleep=None) -> None:
    """Pass after pass until should_stop(). A pass that fails (database or Redis down, read-only,
    restarting) is logged and retried with exponential backoff up to the interval; the process
    never exits on an outage, however long."""
    import time
    sleep = sleep or time.sleep
    backoff = 1.0
    while not should_stop():
        try:
            cron_pass(utcnow())
        except Exception as exc:  # any outage: the next pass retries everything this one did
            log.warning("cron pass failed (%s: %s); retrying in %.0f s", type(exc).__name__,
                        str(exc).splitlines()[0] if str(exc) else "", backoff)
            _reset_session()
            sleep(backoff)
            backoff = min(backoff * 2, max(interval, 1.0))
            continue
        db.session.remove()  # no transaction (nor connection) held open between passes
        if backoff > 1.0:
            log.info("cron pass succeeded again")
        backoff = 1.0
        sleep(interval)


def _reset_session() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; remove() below discards it
        log.debug("rollback after a failed pass failed too", exc_info=True)
    db.session.remove()
