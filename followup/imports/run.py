"""Running an import batch: read the payload, validate each row, write chunk by chunk.

Each chunk is one transaction holding the discharges, their patients, their tasks, the rejected
rows and the batch's new cursor and counts, so a run killed at any point resumes exactly where
the last commit left it. One runner at a time per batch: a lease on the batch row, taken and
renewed with conditional UPDATEs; a run that loses it stops without committing. Chunks of one
hospital are serialised (PostgreSQL advisory lock), so two batches with the same rows cannot
both insert them; the unique (hospital, 住院号, discharge date) constraint is the last defence."""
import collections
import gc
import logging
import multiprocessing
import signal
import queue
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import psycopg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.timeouts import JobTimeoutException
from sqlalchemy import select, update
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from ..core import audit
from .batches import code_maps, column_mapping, drop_payload, payload_file
from ..core.clock import utcnow
from ..extensions import db
from ..core.crypto import Keys, keys_of
from .errors import N_, FileError, Reason
from .prepare import ChunkPreparer
from .sources import open_source
from ..models import Hospital
from ..models.imports import BatchStatus, ImportBatch, ImportRejectedRow
from .write import ChunkWriter, Wards

log = logging.getLogger(__name__)

# Errors of the machinery, not of the file: the run is retried (and resumes), the batch not failed.
# rq's job timeout too: the retry resumes where the timed-out run stopped.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, psycopg.OperationalError, psycopg.InterfaceError,
             RedisConnectionError, RedisTimeoutError, JobTimeoutException)
TOO_MANY_ROWS = N_("more than %(max)s rows; split the file")
UNEXPECTED = N_("the import stopped on an unexpected error (%(detail)s); rows committed so far are kept. "
                "Send the file again; if it fails again, tell the system administrator")


@dataclass(frozen=True)
class ImportSettings:
    """What a batch run needs from the app, built once by its caller (the job, the CLI)."""
    lease_seconds: int
    max_rows: int
    chunk_rows: int
    pool_min_rows: int
    processes: int
    deadline_days: int
    keys: Keys
    # Opens, on the writer thread, the context in which `db.session` works (the app's context).
    thread_context: Callable[[], AbstractContextManager]

    @classmethod
    def from_app(cls, app) -> "ImportSettings":
        c = app.config
        return cls(lease_seconds=c["IMPORT_LEASE_SECONDS"], max_rows=c["IMPORT_MAX_ROWS"],
                   chunk_rows=c["IMPORT_CHUNK_ROWS"], pool_min_rows=c["IMPORT_POOL_MIN_ROWS"],
                   processes=c["IMPORT_PROCESSES"], deadline_days=c["FOLLOWUP_DEADLINE_DAYS"],
                   keys=keys_of(app), thread_context=app.app_context)


def run_batch(batch_id: int, settings: ImportSettings, now: datetime | None = None) -> str:
    """Process a batch to its end. Returns completed | failed | busy (another run holds it) |
    finished (nothing to do) | lost (the lease was taken over mid-run)."""
    owner = uuid.uuid4().hex
    lease = timedelta(seconds=settings.lease_seconds)
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.finished:
        return "finished"
    t = utcnow()
    took = db.session.execute(
        update(ImportBatch).where(ImportBatch.id == batch_id,
                                  ImportBatch.status.in_([BatchStatus.QUEUED, BatchStatus.RUNNING]),
                                  (ImportBatch.lease_until.is_(None)) | (ImportBatch.lease_until < t))
        .values(lease_owner=owner, lease_until=t + lease, status=BatchStatus.RUNNING,
                started_at=batch.started_at or t)).rowcount
    db.session.commit()
    if not took:
        log.info("import batch %s is being run elsewhere; this run is a no-op", batch_id)
        return "busy"
    try:
        return _open_and_run(batch_id, owner, lease, now, settings)
    except FileError as exc:
        return _fail(batch_id, owner, exc.reason)
    except TRANSIENT as exc:
        # The database or Redis went away: the batch is not at fault. Let the lease go (if we
        # can) and let the job's retry resume at the cursor.
        _release(batch_id, owner)
        log.warning("import batch %s interrupted by %s; the retry resumes it", batch_id, type(exc).__name__)
        raise
    except Exception as exc:  # noqa: BLE001 — any other error fails the batch, never leaves it running
        log.exception("import batch %s failed on an unexpected error", batch_id)
        return _fail(batch_id, owner, Reason(UNEXPECTED, detail=type(exc).__name__))


def _open_and_run(batch_id, owner, lease, now, settings: ImportSettings) -> str:
    batch = db.session.get(ImportBatch, batch_id)
    hospital = db.session.get(Hospital, batch.hospital_id)
    with payload_file(batch_id) as payload:
        source = open_source(batch.source, payload, batch.filename, column_mapping(hospital.id),
                             codes=code_maps(hospital.id))
        try:
            if source.estimated_rows > settings.max_rows:
                raise FileError(TOO_MANY_ROWS, max=settings.max_rows)
            db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id)
                               .values(rows_estimated=source.estimated_rows, run_started_at=utcnow(),
                                       run_rows_from=ImportBatch.rows_done))
            db.session.commit()
            return _run(batch, hospital, source, owner, lease, now, settings)
        finally:
            source.close()


def _run(batch, hospital, source, owner, lease, now, settings: ImportSettings) -> str:
    """Read rows here, prepare chunks (validation, personal data) in worker processes when the
    file is big enough to pay for them, and commit them in order on a writer thread: psycopg
    releases the GIL while PostgreSQL works, so reading, preparing and writing overlap."""
    chunk_rows = settings.chunk_rows
    frozen = SimpleNamespace(id=hospital.id, create_unknown_wards=hospital.create_unknown_wards)
    preparer = ChunkPreparer(now=now or utcnow(), keys=settings.keys, deadline_days=settings.deadline_days,
                             id_keys=source.id_keys, wards=Wards(frozen).ids,
                             create_unknown_wards=hospital.create_unknown_wards, decoder=source.decoder)
    # Worker processes only where forking is safe: in a process's main thread (an rq work horse,
    # the CLI), never from a web server's thread (the embedded default runs jobs there).
    big = source.estimated_rows - batch.rows_done >= settings.pool_min_rows
    processes = settings.processes if big and threading.current_thread() is threading.main_thread() else 0
    # The pool is forked before the writer thread starts: a fork copies only the calling thread.
    with Preparing(preparer, processes) as pipeline:
        writer = _WriterThread(settings.thread_context, ChunkWriter, frozen, batch.id, owner, lease, now, preparer)
        cursor = batch.rows_done
        items, read, alive = [], 0, True
        try:
            for row_no, payload in source.rows(skip=cursor):
                cursor += 1
                if cursor > settings.max_rows:  # the estimate can be wrong (an xlsx's stated dimension)
                    raise FileError(TOO_MANY_ROWS, max=settings.max_rows)
                if payload is None:
                    continue  # a blank line is not a row
                read += 1
                items.append((row_no, payload))
                if read >= chunk_rows:
                    pipeline.submit(items, (read, cursor))
                    items, read = [], 0
                    for chunk, (n, at) in pipeline.ready():
                        if not (alive := writer.send(chunk, n, at)):
                            break
                    if not alive:
                        break
            else:
                pipeline.submit(items, (read, cursor))
                done = list(pipeline.drain())
                for i, (chunk, (n, at)) in enumerate(done):
                    if not writer.send(chunk, n, at, final=i == len(done) - 1):
                        break
        finally:
            outcome = writer.close()
    if outcome == "completed":
        log.info("import batch %s completed", batch.id)
    return outcome


class Preparing:
    """Chunks prepared in order, by a pool of forked worker processes (`processes` > 0) or right
    here. At most two chunks per process are in flight, so memory stays bounded."""

    def __init__(self, preparer: ChunkPreparer, processes: int):
        self.preparer, self.processes = preparer, processes
        self.pending = collections.deque()
        self.pool = None

    def __enter__(self):
        if self.processes:
            engines = list(db.engines.values())
            # Frozen objects are never visited by the collector, so the workers do not copy the
            # pages of the parent's heap just by collecting garbage (copy-on-write stays shared).
            gc.freeze()
            try:
                self.pool = multiprocessing.get_context("fork").Pool(
                    self.processes, initializer=_worker_init, initargs=(self.preparer, engines))
            finally:
                gc.unfreeze()
        return self

    def __exit__(self, exc_type, *exc):
        if self.pool is not None:
            if exc_type is None and not self.pending:
                self.pool.close()  # every result taken: the workers finish and exit by themselves
            else:
                self.pool.terminate()
            self.pool.join()

    def submit(self, items, meta):
        if self.pool is None:
            self.pending.append((self.preparer.prepare(items), meta))
        else:
            self.pending.append((self.pool.apply_async(_worker_prepare, (items,)), meta))

    def _pop(self):
        result, meta = self.pending.popleft()
        return (result if self.pool is None else result.get()), meta

    def ready(self):
        """The oldest chunks, waiting for them only when too many are in flight."""
        while self.pending and (len(self.pending) > 2 * max(self.processes, 1) or self.pool is None
                                or self.pending[0][0].ready()):
            yield self._pop()

    def drain(self):
        while self.pending:
            yield self._pop()


_worker_preparer: ChunkPreparer | None = None


def _worker_init(preparer, engines):
    """A worker ends by itself when its parent dies, even by SIGKILL: it has closed its copy of
    the task pipe's write end (multiprocessing.pool.worker), so the read sees end of file."""
    global _worker_preparer
    # Whatever the parent did with SIGTERM (a CLI loop that only sets a flag), the pool's
    # terminate() must end a worker.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _worker_preparer = preparer
    for engine in engines:  # the parent's connections are not ours to use or close
        engine.dispose(close=False)


def _worker_prepare(items):
    return _worker_preparer.prepare(items)


class _WriterThread:
    """Commits chunks in order on its own thread, app context and session. Any error there is
    re-raised in the caller; a lost lease stops the run."""

    def __init__(self, thread_context, writer_cls, *args):
        self.thread_context = thread_context
        self.queue = queue.Queue(maxsize=2)  # bounded: at most two chunks wait in memory
        self.outcome, self.error = None, None
        self.thread = threading.Thread(target=self._loop, args=(writer_cls, args), name="import-writer")
        self.thread.start()

    def _loop(self, writer_cls, args):
        with self.thread_context():
            try:
                writer = writer_cls(*args)
                while (item := self.queue.get()) is not None:
                    chunk, final = item
                    if not writer.write(*chunk, final=final):
                        self.outcome = "lost"
                        return
                    if final:
                        self.outcome = "completed"
            except BaseException as exc:  # handed to the caller, which re-raises it
                db.session.rollback()
                self.error = exc
            finally:
                db.session.remove()
                if self.outcome or self.error:
                    self._drain()

    def _drain(self):
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return

    def send(self, chunk, read, cursor, final=False) -> bool:
        """Queue a chunk; False once the writer has stopped (lease lost or error)."""
        while self.thread.is_alive():
            try:
                self.queue.put(((chunk, read, cursor), final), timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> str:
        if self.thread.is_alive():
            self.send_stop()
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.outcome or "lost"

    def send_stop(self):
        while self.thread.is_alive():
            try:
                self.queue.put(None, timeout=0.5)
                return
            except queue.Full:
                continue


def _fail(batch_id: int, owner: str | None, reason: Reason) -> str:
    """The batch ends failed with its reason, lease released, payload dropped. `owner` None:
    whoever holds it (the job gave up)."""
    db.session.rollback()
    t = utcnow()
    held = ImportBatch.lease_owner == owner if owner else ImportBatch.status != BatchStatus.COMPLETED
    if not db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, held).values(
            status=BatchStatus.FAILED, error=str(reason)[:2000], error_reason=reason.as_dict(),
            finished_at=t, lease_owner=None, lease_until=None)).rowcount:
        db.session.rollback()
        return "lost"
    drop_payload(batch_id)
    audit.record("import.failed", object_type="import_batch", object_id=batch_id)
    db.session.commit()
    log.warning("import batch %s failed: %s", batch_id, reason)
    return "failed"


def _release(batch_id: int, owner: str) -> None:
    try:
        db.session.rollback()
        db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.lease_owner == owner)
                           .values(lease_owner=None, lease_until=None))
        db.session.commit()
    except Exception:  # noqa: BLE001 — still down: the lease expires by itself
        db.session.rollback()


def fail_batch(batch_id: int, reason: Reason) -> str:
    """For the job when it gives up: the batch ends failed, whoever last held it."""
    return _fail(batch_id, None, reason)


def rejected_rows(batch_id: int):
    return db.session.scalars(select(ImportRejectedRow).where(ImportRejectedRow.batch_id == batch_id)
                              .order_by(ImportRejectedRow.row_no))

