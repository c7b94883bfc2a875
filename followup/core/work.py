"""Long work asked for on a page: record it with its job (same transaction), report progress, keep
the result for the person who asked. The job kinds live with their domain (sampling, reports);
this module knows only the progress row. Functions flush, never commit, except `checkpoint`,
which a job calls between its steps so the polling page sees them."""
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import jobs
from ..extensions import db
from ..models import JobState, OutboxJob
from ..models.work import WorkRequest, WorkStatus
from .clock import utcnow

# What the page says for each step (msgids, translated where shown).
STEP_LABELS = {
    "queued": _l("Waiting for a background worker"),
    "population": _l("Reading the population of discharges"),
    "drawing": _l("Drawing the sample"),
    "storing": _l("Storing the sample"),
    "computing": _l("Computing the figures"),
    "writing": _l("Writing the file"),
    "done": _l("Done"),
    "failed": _l("Failed"),
}


class WorkTaken(Exception):
    """The same work (same dedupe key) was already asked for."""


def create(kind: str, params: dict, *, user, dedupe_key: str | None = None) -> WorkRequest:
    """The progress row and its outbox job (job name = kind, argument = the row id). Flushes;
    the caller commits, then `jobs.dispatch([work.outbox_id])`."""
    if dedupe_key and db.session.scalar(select(WorkRequest.id).where(WorkRequest.dedupe_key == dedupe_key)):
        raise WorkTaken(dedupe_key)
    work = WorkRequest(kind=kind, params=params, dedupe_key=dedupe_key, created_by_id=user.id,
                       status=WorkStatus.QUEUED, step="queued")
    db.session.add(work)
    db.session.flush()
    work.outbox_id = jobs.submit(kind, work.id, dedupe_key=f"work:{work.id}").id
    db.session.flush()
    return work


def get_own_or_404(user, work_id: int) -> WorkRequest:
    """Only the person who asked sees the progress and the result (a missing row looks the same)."""
    work = db.session.get(WorkRequest, work_id)
    if work is None or work.created_by_id != user.id:
        abort(404)
    return work


def checkpoint(work: WorkRequest, step: str, *, done: int | None = None, total: int | None = None) -> None:
    """Record a step and COMMIT, so the page polling in another request sees it. Call only
    between a job's steps, never inside a domain function's transaction."""
    if work.started_at is None:
        work.started_at = utcnow()
    work.status, work.step = WorkStatus.RUNNING, step
    if total is not None:
        work.total = total
    if done is not None:
        work.done = done
    db.session.commit()


def finish(work: WorkRequest, *, sample_id: int | None = None, name: str | None = None,
           mimetype: str | None = None, body: bytes | None = None) -> None:
    work.status, work.step, work.finished_at = WorkStatus.DONE, "done", utcnow()
    work.done = work.total
    work.result_sample_id, work.result_name, work.result_mimetype, work.result_body = (
        sample_id, name, mimetype, body)
    db.session.flush()


def fail(work: WorkRequest, message: str) -> None:
    """A refusal the person can act on (already translated); not retried."""
    work.status, work.step, work.error, work.finished_at = WorkStatus.FAILED, "failed", message, utcnow()
    db.session.flush()


def page_data(work: WorkRequest) -> dict:
    """What the progress page shows. A job the outbox gave up on shows as failed even though its
    row never got the chance to say so."""
    status, step = work.status, work.step
    if not work.finished and work.outbox_id:
        if db.session.scalar(select(OutboxJob.state).where(OutboxJob.id == work.outbox_id)) == JobState.FAILED:
            status, step = WorkStatus.FAILED, "failed"
    return {"work": work, "status": status, "step_label": STEP_LABELS.get(step, step),
            "finished": status in (WorkStatus.DONE, WorkStatus.FAILED), "percent": work.percent}
