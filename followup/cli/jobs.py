"""Background work: the rq worker, the periodic-job process, and a manual reconcile."""
import logging
import signal

import click
from flask import current_app

from ..jobs import QUEUES, registered
from ..core.clock import utcnow
from ..jobs.maintenance import cron_pass, reconcile, run_cron
from . import followup_cli


def _log_to_stderr() -> None:
    """Long-running commands log their retries; plain `flask` configures no handler."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@followup_cli.command("worker")
@click.option("--queue", "queues", multiple=True, help=f"Queues to drain (default: {', '.join(QUEUES)}).")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(queues, burst):
    """Run an rq worker (JSON serializer) with this app's context. Survives Redis and database
    outages: a worker that stops on one is started again after a backoff."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: the embedded mode runs jobs in-process")
    _log_to_stderr()
    from ..jobs.queue import run_worker
    registered()  # import every job module before forking
    run_worker(list(queues) or None, burst=burst)


@followup_cli.command("cron")
@click.option("--interval", type=float, help="Seconds between passes (default: CRON_INTERVAL).")
@click.option("--once", is_flag=True, help="One pass, then exit.")
def cron(interval, once):
    """Run periodic jobs, the outbox reconciler and the audit checkpoint. One process per
    deployment is enough; two are harmless (each period's job has a unique key)."""
    if once:
        n, due = cron_pass(utcnow())
        click.echo(f"re-drove {n} jobs; {due} periodic jobs due")
        return
    _log_to_stderr()
    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        run_cron(interval or current_app.config["CRON_INTERVAL"], lambda: bool(stop))
    finally:
        signal.signal(signal.SIGTERM, previous)


@followup_cli.command("reconcile")
def reconcile_cmd():
    """Re-drive outbox jobs that are pending or stalled (e.g. after Redis lost its data)."""
    click.echo(f"re-drove {reconcile()} jobs")
