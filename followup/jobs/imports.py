"""The import job: takes a batch id, runs the batch (resumable, one runner at a time)."""
import logging

from ..jobs import QUEUE_IMPORTS, RetryLater, job

log = logging.getLogger(__name__)


@job("import_batch", queue=QUEUE_IMPORTS)
def import_batch(batch_id: int) -> None:
    from ..imports.run import run_batch
    outcome = run_batch(batch_id)
    log.info("import batch %s: %s", batch_id, outcome)
    if outcome in ("busy", "lost"):
        # Another run holds the batch (or took it over): try again once its lease can have
        # lapsed, without spending an attempt; the retry returns at once if that run finished.
        raise RetryLater(f"import batch {batch_id} is held by another run", seconds=10)
