"""The import job: takes a batch id, runs the batch (resumable, one runner at a time)."""
import logging

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..imports.errors import N_, Reason
from ..jobs import QUEUE_IMPORTS, RetryLater, job
from ..models import OutboxJob

log = logging.getLogger(__name__)

GAVE_UP = N_("the import could not be finished after %(attempts)s tries (%(detail)s); rows committed so far "
             "are kept. Send the file again; if it fails again, tell the system administrator")


@job("import_batch", queue=QUEUE_IMPORTS)
def import_batch(batch_id: int) -> None:
    from ..imports.run import ImportSettings, fail_batch, run_batch
    try:
        outcome = run_batch(batch_id, ImportSettings.from_app(current_app._get_current_object()))
    except Exception as exc:  # a transient error (database, Redis, timeout): retried unless this was the last try
        attempts = _last_attempt(batch_id)
        if attempts:
            db.session.rollback()
            fail_batch(batch_id, Reason(GAVE_UP, attempts=attempts, detail=type(exc).__name__))
            log.warning("import batch %s failed after %s attempts", batch_id, attempts)
            return
        raise
    log.info("import batch %s: %s", batch_id, outcome)
    if outcome in ("busy", "lost"):
        # Another run holds the batch (or took it over): try again once its lease can have
        # lapsed, without spending an attempt; the retry returns at once if that run finished.
        raise RetryLater(f"import batch {batch_id} is held by another run", seconds=10)


def _last_attempt(batch_id: int) -> int:
    """The number of attempts when this one is the outbox's last (0 otherwise)."""
    try:
        db.session.rollback()
        row = db.session.scalar(select(OutboxJob).where(OutboxJob.dedupe_key == f"import:{batch_id}"))
    except Exception:  # noqa: BLE001 — the database is still away: let the outbox count the attempt
        return 0
    return row.attempts if row is not None and row.attempts >= row.max_attempts else 0
