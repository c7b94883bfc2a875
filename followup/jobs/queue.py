"""rq specifics: the Redis connection, queues with the JSON serializer, and the worker class."""
import logging

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)


def redis_connection() -> Redis:
    app = current_app._get_current_object()
    conn = app.extensions.get("followup_redis")
    if conn is None:
        timeout = app.config["REDIS_SOCKET_TIMEOUT"]
        conn = Redis.from_url(app.config["REDIS_URL"], socket_timeout=timeout,
                              socket_connect_timeout=timeout)
        app.extensions["followup_redis"] = conn
    return conn


def get_queue(name: str) -> Queue:
    return Queue(name, connection=redis_connection(), serializer=JSONSerializer,
                 default_timeout=current_app.config["JOB_TIMEOUT"])


def enqueue_outbox(row) -> None:
    """One rq job per outbox row, carrying only its id. The description names the job, never
    its data, because workers log descriptions."""
    from . import run_outbox
    cfg = current_app.config
    get_queue(row.queue).enqueue(
        run_outbox, row.id,
        job_id=rq_job_id(row.id, row.attempts),
        description=f"outbox {row.id} {row.name}",
        result_ttl=cfg["JOB_RESULT_TTL"],
        failure_ttl=cfg["JOB_FAILURE_TTL"],
        meta={"request_id": row.request_id},  # for rq's own tooling; the worker reads the row
    )


def rq_job_id(outbox_id: int, attempts: int) -> str:
    return f"outbox-{outbox_id}-{attempts}"


def job_states(rows: list[tuple[int, int]]) -> dict[int, str | None]:
    """The rq status of each (outbox id, attempts) job, None where Redis has no such job."""
    pipe = redis_connection().pipeline(transaction=False)
    for oid, attempts in rows:
        pipe.hget(f"rq:job:{rq_job_id(oid, attempts)}", "status")
    return {oid: (st.decode() if st else None) for (oid, _), st in zip(rows, pipe.execute())}


class AppWorker(Worker):
    """A forking worker that drops inherited database connections in each work horse
    (a connection shared across fork corrupts both sides)."""

    def execute_job(self, job, queue):
        from ..extensions import db
        db.engine.dispose()
        return super().execute_job(job, queue)


def make_worker(queue_names=None, burst_cls=None):
    from . import QUEUES
    names = queue_names or QUEUES
    cls = burst_cls or AppWorker
    return cls([get_queue(n) for n in names], connection=redis_connection(),
               serializer=JSONSerializer)


def run_worker(queue_names=None, burst: bool = False, sleep=None) -> None:
    """Run a worker until it is asked to stop (SIGTERM/SIGINT) or, in burst mode, runs dry.
    rq's worker quits on a Redis timeout or an unexpected error (a maintenance pass or heartbeat
    during an outage): start a fresh one after a backoff instead of leaving the queue unserved."""
    import time
    sleep = sleep or time.sleep
    backoff = 1.0
    while True:
        w = None
        try:
            w = make_worker(queue_names)
            w.log_job_description = False  # descriptions are harmless, but keep worker logs lean
            w.work(burst=burst, with_scheduler=False)
            if burst or _asked_to_stop(w):
                return
            log.warning("worker stopped without being asked to; starting again in %.0f s", backoff)
        except (RedisError, OSError) as exc:
            log.warning("worker: Redis unavailable (%s); retrying in %.0f s", exc, backoff)
        if _asked_to_stop(w):
            return
        current_app.extensions.pop("followup_redis", None)  # a fresh connection pool next time
        sleep(backoff)
        if _asked_to_stop(w):  # SIGTERM during the backoff
            return
        backoff = min(backoff * 2, 30.0)


def _asked_to_stop(w) -> bool:
    """SIGTERM/SIGINT reached this worker (rq records when; an idle worker leaves its loop)."""
    return w is not None and (w._stop_requested or getattr(w, "_shutdown_requested_date", None) is not None)
