"""The one module that owns background work: queue names, the job registry, submit and dispatch.

Work is first written to the outbox table in the caller's transaction (`submit`), then handed to
rq after the commit (`dispatch`). rq carries only the outbox id, serialised as JSON. Without
REDIS_URL the same functions run in-process (a thread, or at once in tests). Job functions take
ids, must be idempotent, and are registered by name with `@job`: nothing else can be run."""
import functools
import importlib
import logging
import pkgutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import or_, select, update

from ..core.clock import utcnow
from ..core.logs import current_request_id, job_context
from ..extensions import db
from ..models import JobState, OutboxJob

log = logging.getLogger(__name__)

QUEUE_DEFAULT = "default"
QUEUE_IMPORTS = "imports"
QUEUE_REPORTS = "reports"
QUEUES = (QUEUE_IMPORTS, QUEUE_DEFAULT, QUEUE_REPORTS)  # a worker drains them in this order

_registry: dict = {}
_executor_lock = threading.Lock()


def job(name: str, queue: str = QUEUE_DEFAULT):
    """Register a job function under a stable name. The function takes ids only."""
    def deco(fn):
        if name in _registry and _registry[name][0] is not fn:
            raise ValueError(f"job name {name!r} registered twice")
        _registry[name] = (fn, queue)
        fn.job_name = name
        return fn
    return deco


def registered() -> dict:
    _load_job_modules()
    return dict(_registry)


@functools.cache
def _load_job_modules() -> None:
    """Job modules register themselves on import; the worker process needs them all. Once per
    process: submit() and run_outbox() call this on every job, and the package does not change."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


def submit(name: str, *args: int | str, dedupe_key: str | None = None,
           max_attempts: int = 5) -> OutboxJob:
    """Record a job in the caller's transaction. Flushes, never commits; call dispatch() after.

    With a dedupe_key, a job already recorded under that key is returned instead."""
    _load_job_modules()
    if name not in _registry:
        raise KeyError(f"unknown job {name!r}")
    if dedupe_key:
        existing = db.session.scalar(select(OutboxJob).where(OutboxJob.dedupe_key == dedupe_key))
        if existing:
            return existing
    row = OutboxJob(name=name, args=list(args), queue=_registry[name][1],
                    dedupe_key=dedupe_key, max_attempts=max_attempts,
                    request_id=current_request_id())
    db.session.add(row)
    db.session.flush()
    return row


def dispatch(outbox_ids: list[int] | None = None) -> int:
    """Hand pending outbox rows to the queue. Call after commit. Returns how many were handed."""
    q = select(OutboxJob.id).where(OutboxJob.state == JobState.PENDING)
    if outbox_ids is not None:
        q = q.where(OutboxJob.id.in_(outbox_ids))
    ids = list(db.session.scalars(q.order_by(OutboxJob.id)))
    for oid in ids:
        _hand_over(oid)
    return len(ids)


def submit_and_dispatch(name: str, *args, dedupe_key: str | None = None) -> OutboxJob:
    """For callers without a transaction of their own (CLI, cron): submit, commit, dispatch."""
    row = submit(name, *args, dedupe_key=dedupe_key)
    db.session.commit()
    dispatch([row.id])
    return row


def _hand_over(outbox_id: int) -> None:
    app = current_app._get_current_object()
    row = db.session.get(OutboxJob, outbox_id)
    if app.config.get("REDIS_URL"):
        from .queue import enqueue_outbox
        try:
            enqueue_outbox(row)
        except Exception as exc:  # Redis down: the row stays pending and the reconciler retries
            log.warning("enqueue of outbox %s failed, left pending: %s", outbox_id, exc)
            db.session.rollback()
            return
        _mark(outbox_id, JobState.ENQUEUED)
        return
    _mark(outbox_id, JobState.ENQUEUED)
    if app.config["JOBS_INLINE_MODE"] == "sync":
        try:
            run_outbox(outbox_id)
        except Exception:  # recorded on the outbox row; the reconciler retries it
            pass
    else:
        _executor(app).submit(_run_in_app, app, outbox_id)


def _mark(outbox_id, state):
    db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id,
                                               OutboxJob.state == JobState.PENDING)
                       .values(state=state, updated_at=utcnow()))
    db.session.commit()


def _executor(app) -> ThreadPoolExecutor:
    with _executor_lock:
        ex = app.extensions.get("followup_executor")
        if ex is None:
            ex = app.extensions["followup_executor"] = ThreadPoolExecutor(2, thread_name_prefix="job")
        return ex


def _run_in_app(app, outbox_id):
    with app.app_context():
        try:
            run_outbox(outbox_id)
        except Exception:  # recorded on the outbox row; the reconciler retries it
            pass
        finally:
            db.session.remove()


def run_outbox(outbox_id: int) -> str:
    """The rq entry point: run one outbox job once. Safe to call twice, even concurrently:
    only the caller that moves the row to RUNNING (or takes over a stale run) does the work."""
    if not has_app_context():
        from .. import create_app
        with create_app().app_context():
            return run_outbox(outbox_id)
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    took = db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == outbox_id,
               or_(OutboxJob.state.in_([JobState.PENDING, JobState.ENQUEUED]),
                   (OutboxJob.state == JobState.RUNNING) & (OutboxJob.updated_at < stale)))
        .values(state=JobState.RUNNING, attempts=OutboxJob.attempts + 1, updated_at=now)
    ).rowcount
    db.session.commit()
    if not took:
        log.info("outbox %s: not runnable (done, failed or running elsewhere); no-op", outbox_id)
        return "skipped"
    row = db.session.get(OutboxJob, outbox_id)
    fn = registered()[row.name][0]
    # The job logs under the request id of its cause (kept on the row, so a re-drive keeps it).
    with job_context(row):
        return _run(row, fn)


def _run(row, fn) -> str:
    outbox_id = row.id
    log.info("job started")
    try:
        fn(*row.args)
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(OutboxJob, outbox_id)
        give_up = row.attempts >= row.max_attempts
        row.state = JobState.FAILED if give_up else JobState.PENDING
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        log.exception("outbox %s (%s) failed, attempt %s", outbox_id, row.name, row.attempts)
        raise
    db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                       .values(state=JobState.DONE, finished_at=utcnow(), updated_at=utcnow()))
    db.session.commit()
    log.info("job done")
    return "done"


def heartbeat(outbox_id: int) -> None:
    """Long jobs call this between chunks so the reconciler does not think they died."""
    db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(updated_at=utcnow()))
