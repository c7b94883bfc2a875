"""Long work asked for on a page (a sample draw, an export of a large month): the progress row the
page polls while a job does it, and the result (the sample drawn, or the file made)."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class WorkStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"   # `error` says why, in words the page can show


class WorkRequest(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))       # "sample_draw" | "summary_export" | "commission_export"
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # ids, month, format: never personal data
    # Work that must happen once (a draw round of a region and period) carries a key.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=WorkStatus.QUEUED)
    step: Mapped[str] = mapped_column(String(32), default="queued")  # what is happening, for the page
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Only the person who asked sees the progress and the result.
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    result_sample_id: Mapped[int | None] = mapped_column(ForeignKey("audit_sample.id"))
    result_name: Mapped[str | None] = mapped_column(String(255))
    result_mimetype: Mapped[str | None] = mapped_column(String(128))
    result_body: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.status in (WorkStatus.DONE, WorkStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == WorkStatus.DONE:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0
