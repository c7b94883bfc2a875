"""rq specifics: the Redis connection, queues with the JSON serializer, and the worker class."""
import logging

from flask import current_app
from redis import Redis
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
        job_id=f"outbox-{row.id}-{row.attempts}",
        description=f"outbox {row.id} {row.name}",
        result_ttl=cfg["JOB_RESULT_TTL"],
        failure_ttl=cfg["JOB_FAILURE_TTL"],
        meta={"request_id": row.request_id},  # for rq's own tooling; the worker reads the row
    )


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
