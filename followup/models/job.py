"""The job outbox: background work recorded in the database, in the same transaction as its cause.

Redis only carries outbox ids; the reconciler re-enqueues rows that Redis lost."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class JobState(StrEnum):
    PENDING = "pending"      # written, not yet handed to a queue
    ENQUEUED = "enqueued"    # handed to rq (or a thread)
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"        # gave up after max attempts; last_error says why


class OutboxJob(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))  # a registered job name, never a dotted path
    args: Mapped[list] = mapped_column(JSON, default=list)  # ids only
    queue: Mapped[str] = mapped_column(String(32), default="default")
    # Work that must happen once (per batch, per month ...) carries a key; a second submit is a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(12), default=JobState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While RUNNING: the run holding the row renews lease_until from a heartbeat; once it lapses
    # the reconciler re-drives the job, and the old run (token no longer matching) cannot finish it.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    # The web request (or CLI/cron run) that caused the job: its log lines carry the same id.
    request_id: Mapped[str | None] = mapped_column(String(64))
