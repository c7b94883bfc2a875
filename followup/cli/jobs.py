"""Background work: the rq worker, the periodic-job process, and a manual reconcile."""
import signal
import time

import click
from flask import current_app

from ..jobs import QUEUES, registered
from ..jobs.maintenance import reconcile, tick
from . import followup_cli


@followup_cli.command("worker")
@click.option("--queue", "queues", multiple=True, help=f"Queues to drain (default: {', '.join(QUEUES)}).")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(queues, burst):
    """Run an rq worker (JSON serializer) with this app's context."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: the embedded mode runs jobs in-process")
    from ..jobs.queue import make_worker
    registered()  # import every job module before forking
    w = make_worker(list(queues) or None)
    w.log_job_description = False  # descriptions are harmless, but keep worker logs lean
    w.work(burst=burst, with_scheduler=False)


@followup_cli.command("cron")
@click.option("--interval", default=30, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="One pass, then exit.")
def cron(interval, once):
    """Run periodic jobs and the outbox reconciler. One process per deployment is enough;
    two are harmless (each period's job has a unique key)."""
    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while not stop:
            n = reconcile()
            rows = tick()
            if once:
                click.echo(f"re-drove {n} jobs; {len(rows)} periodic jobs due")
                return
            time.sleep(interval)
    finally:
        signal.signal(signal.SIGTERM, previous)


@followup_cli.command("reconcile")
def reconcile_cmd():
    """Re-drive outbox jobs that are pending or stalled (e.g. after Redis lost its data)."""
    click.echo(f"re-drove {reconcile()} jobs")
