"""What the import page says about a batch: rows done of the total, rejected so far, and the
time left, from what the run commits with each chunk (rows_done, read, rejected, progress_at)
and the current run's start (run_started_at, run_rows_from). Read-only; no clock but `now`."""
from dataclasses import dataclass
from datetime import datetime

from ..models.imports import BatchStatus, ImportBatch


@dataclass(frozen=True)
class Progress:
    status: str
    done: int           # source rows consumed by committed chunks (blank lines included)
    total: int          # rows in the file (counted before the first row is read); 0 = not yet known
    read: int           # rows read (blank lines not counted)
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    percent: int        # 0–100; 100 only when completed
    seconds_left: int | None   # None: not estimable yet (no chunk committed in this run)
    elapsed: int | None        # seconds from the first run's start to the end (or to now)
    finished: bool

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


def progress(batch: ImportBatch, now: datetime) -> Progress:
    """The batch's progress as of `now` (its last committed chunk; elapsed time runs to now)."""
    done, total = batch.rows_done, batch.rows_estimated
    if batch.status == BatchStatus.COMPLETED:
        total = max(total, done)
    return Progress(status=batch.status, done=done, total=total, read=batch.read, rejected=batch.rejected,
                    inserted=batch.inserted, updated=batch.updated, unchanged=batch.unchanged,
                    percent=batch.percent, seconds_left=_seconds_left(batch),
                    elapsed=_elapsed(batch, now), finished=batch.finished)


def _seconds_left(batch: ImportBatch) -> int | None:
    """The rows left at this run's own speed so far (rows since it began ÷ time to its last
    chunk); None before its first chunk, or when finished."""
    if batch.finished or batch.run_started_at is None or batch.progress_at is None:
        return None
    rows = batch.rows_done - (batch.run_rows_from or 0)
    seconds = (batch.progress_at - batch.run_started_at).total_seconds()
    if rows <= 0 or seconds <= 0 or batch.progress_at < batch.run_started_at:
        return None
    left = max(batch.rows_estimated - batch.rows_done, 0) / (rows / seconds)
    # Not counted down between chunks: a chunk can take far longer than the first one did, and
    # "less than a minute" over 25,000 rows left is worse than a figure that waits for the next chunk.
    return max(int(round(left)), 1 if left else 0)


def _elapsed(batch: ImportBatch, now: datetime) -> int | None:
    if batch.started_at is None:
        return None
    end = batch.finished_at if batch.finished and batch.finished_at else now
    return max(int((end - batch.started_at).total_seconds()), 0)
