"""The one module that owns background work: queue names, the job registry, submit and dispatch.

Work is first written to the outbox table in the caller's transaction (`submit`), then handed to
rq after the commit (`dispatch`). rq carries only the outbox id, serialised as JSON. Without
REDIS_URL the same functions run in-process (a thread, or at once in tests). Job functions take
ids, must be idempotent, and are registered by name with `@job`: nothing else can be run."""
import functools
import importlib
import logging
import pkgutil
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import DBAPIError

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


class RetryLater(Exception):
    """Raised by a job that cannot run yet (its batch is held by another run): the row goes back
    to pending for `seconds`, and the attempt does not count towards max_attempts."""

    def __init__(self, message: str, seconds: int = 10):
        super().__init__(message)
        self.seconds = seconds
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


def fan_out_per_hospital(name: str, month: str, suffix: str = "") -> int:
    """One job `name(hospital_id, month)` per hospital, each deduplicated by hospital and month
    (a slow hospital delays no other; a second fan-out adds nothing): submit, commit, dispatch."""
    from ..models import Hospital
    rows = [submit(name, hid, month, dedupe_key=f"{name}:{hid}:{month}{suffix}")
            for hid in db.session.scalars(select(Hospital.id).order_by(Hospital.id))]
    db.session.commit()
    return dispatch([r.id for r in rows])


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
    only the caller that moves the row to RUNNING (or takes over a run whose lease lapsed) does
    the work, and only the run that still holds the lease can finish the row."""
    if not has_app_context():
        from .. import create_app
        with create_app().app_context():
            return run_outbox(outbox_id)
    app = current_app._get_current_object()
    lease = timedelta(seconds=app.config["JOB_LEASE_SECONDS"])
    now, token = utcnow(), secrets.token_hex(16)
    took = db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == outbox_id,
               or_(OutboxJob.state.in_([JobState.PENDING, JobState.ENQUEUED]),
                   (OutboxJob.state == JobState.RUNNING) & (OutboxJob.lease_until < now)))
        .values(state=JobState.RUNNING, attempts=OutboxJob.attempts + 1, updated_at=now,
                lease_until=now + lease, lease_token=token)
    ).rowcount
    db.session.commit()
    if not took:
        log.info("outbox %s: not runnable (done, failed or running elsewhere); no-op", outbox_id)
        return "skipped"
    row = db.session.get(OutboxJob, outbox_id)
    # The job logs under the request id of its cause (kept on the row, so a re-drive keeps it).
    with job_context(row):
        return _run(app, row, token, lease)


def _run(app, row, token, lease) -> str:
    outbox_id = row.id
    # Read before the job runs: its commits expire the row, and the database may be gone after.
    name, args, attempts, max_attempts = row.name, list(row.args), row.attempts, row.max_attempts
    fn = registered()[name][0]
    mine = (OutboxJob.id == outbox_id) & (OutboxJob.lease_token == token)
    beat = _Heartbeat(app, outbox_id, token, lease)
    log.info("job started")
    try:
        fn(*args)
    except RetryLater as exc:
        _settle(update(OutboxJob).where(mine).values(
            state=JobState.PENDING, attempts=OutboxJob.attempts - 1, lease_token=None,
            lease_until=utcnow() + timedelta(seconds=exc.seconds), last_error=str(exc)[:2000]))
        log.info("outbox %s (%s): %s; again in %s s", outbox_id, name, exc, exc.seconds)
        return "later"
    except Exception as exc:
        give_up = attempts >= max_attempts
        _settle(update(OutboxJob).where(mine).values(
            state=JobState.FAILED if give_up else JobState.PENDING, lease_token=None, lease_until=None,
            last_error=f"{type(exc).__name__}: {exc}"[:2000]))
        log.exception("outbox %s (%s) failed, attempt %s", outbox_id, name, attempts)
        raise
    finally:
        beat.stop()
    done = _settle(update(OutboxJob).where(mine).values(
        state=JobState.DONE, finished_at=utcnow(), updated_at=utcnow(), lease_token=None, lease_until=None),
        after_failure=False)
    if done is None:  # the database stayed away: the lease lapses and the (idempotent) job runs again
        return "unsettled"
    if not done:
        log.warning("outbox %s: lease lost while running; the run that took it over finishes it", outbox_id)
        return "lost"
    log.info("job done")
    return "done"


def _settle(statement, tries: int = 6, after_failure: bool = True) -> int | None:
    """Record a run's outcome on its outbox row, retrying through a short database outage (a
    restart, a failover) so the reconciler can re-drive the job at its next pass instead of
    waiting for the lease to lapse. Gives up quietly after ~30 s: the lease covers the rest."""
    import time
    wait = 0.5
    for attempt in range(tries):
        try:
            if after_failure:
                db.session.rollback()
            n = db.session.execute(statement).rowcount
            db.session.commit()
            return n
        except DBAPIError as exc:
            db.session.rollback()
            # After success, a failed first try may have lost the job's own uncommitted writes:
            # never mark it done then; the lease lapses and the (idempotent) job runs again.
            if attempt == tries - 1 or not after_failure:
                log.warning("outbox bookkeeping failed (%s); the lease will lapse instead", type(exc.orig).__name__)
                return None
            time.sleep(wait)
            wait = min(wait * 2, 8)


class _Heartbeat:
    """Renews a running job's lease every third of its length, on its own connection, until
    stopped. If the process dies or is frozen, renewals stop and the lease lapses within one
    lease length; the reconciler then re-drives the job."""

    def __init__(self, app, outbox_id: int, token: str, lease: timedelta):
        self.app, self.outbox_id, self.token, self.lease = app, outbox_id, token, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{outbox_id}", daemon=True)
        self._thread.start()

    def _run(self):
        with self.app.app_context():
            while not self._stop.wait(self.lease.total_seconds() / 3):
                try:
                    with db.engine.begin() as conn:
                        if conn.dialect.name == "postgresql":  # frozen mid-renewal: no lock kept
                            conn.execute(text("SELECT set_config('idle_in_transaction_session_timeout', '5000', true)"))
                        held = conn.execute(update(OutboxJob).where(
                            OutboxJob.id == self.outbox_id, OutboxJob.lease_token == self.token)
                            .values(lease_until=utcnow() + self.lease, updated_at=utcnow())).rowcount
                except DBAPIError as exc:  # database away: keep trying; the lease may lapse meanwhile
                    log.warning("outbox %s: lease renewal failed: %s", self.outbox_id, exc.orig)
                    continue
                if not held:
                    log.warning("outbox %s: lease taken over by another run", self.outbox_id)
                    return

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def heartbeat(outbox_id: int) -> None:
    """Kept for callers that mark progress; leases are renewed by the running job's heartbeat."""
    db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(updated_at=utcnow()))
