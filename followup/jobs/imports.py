"""The import job: takes a batch id, runs the batch (resumable, one runner at a time)."""
import logging

from flask import current_app

from ..jobs import QUEUE_IMPORTS, job

log = logging.getLogger(__name__)


@job("import_batch", queue=QUEUE_IMPORTS)
def import_batch(batch_id: int) -> None:
    from ..imports.run import ImportSettings, run_batch
    outcome = run_batch(batch_id, ImportSettings.from_app(current_app._get_current_object()))
    log.info("import batch %s: %s", batch_id, outcome)
    if outcome in ("busy", "lost"):
        # Another run holds the batch: fail this attempt so the outbox retries it later; the
        # retry returns at once if that other run has finished the batch by then.
        raise RuntimeError(f"import batch {batch_id} is held by another run")
