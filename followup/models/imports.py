"""Import batches: one per received file or message set, with its progress (the resume cursor),
its counts, the rows it rejected, and the per-hospital API tokens and column mappings."""
import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.crypto import EncryptedText
from ..extensions import db
from .org import Hospital
from .types import UTCDateTime


class BatchStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"  # every row read: inserted, updated, unchanged or rejected
    FAILED = "failed"        # the file as a whole could not be read; `error` says why


_NOT_FAILED = "status <> 'failed'"


class ImportBatch(db.Model):
    # The same bytes for the same hospital are the same batch: a second upload does no work.
    # A failed batch is out of the rule: the same bytes sent again are a new try (migration 0011).
    __table_args__ = (Index("uq_import_batch_hospital_id_digest", "hospital_id", "digest", unique=True,
                            postgresql_where=text(_NOT_FAILED), sqlite_where=text(_NOT_FAILED)),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    source: Mapped[str] = mapped_column(String(8))  # csv | xlsx | hl7 | fhir
    channel: Mapped[str] = mapped_column(String(8))  # upload | api | cli
    filename: Mapped[str] = mapped_column(String(255), default="")
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the bytes received
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default=BatchStatus.QUEUED, index=True)
    # Why it failed: in English (logs, the CLI) and as {"reason": msgid, "params": {…}}, which
    # the catalogue translates when shown (`error_text`).
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[dict | None] = mapped_column(JSON)
    rows_estimated: Mapped[int] = mapped_column(Integer, default=0)
    # The resume cursor: source rows consumed by committed chunks (committed with them).
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # rows kept with a note
    # One runner at a time: a lease taken by UPDATE … WHERE lease expired, renewed each chunk.
    lease_owner: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Progress timing (imports/progress.py): the current run's start and first row, and the last
    # chunk's commit; a resumed run's speed is its own.
    run_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_rows_from: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    hospital: Mapped[Hospital] = relationship()

    @property
    def finished(self) -> bool:
        return self.status in (BatchStatus.COMPLETED, BatchStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == BatchStatus.COMPLETED:
            return 100
        return min(99, int(100 * self.rows_done / self.rows_estimated)) if self.rows_estimated else 0

    @property
    def error_text(self) -> str | None:
        """The failure reason in the reader's language."""
        from ..imports.errors import describe
        if self.error_reason:
            return describe(self.error_reason["reason"], self.error_reason.get("params"))
        return describe(self.error) if self.error else None

    def counts(self) -> dict:
        return {"batch": self.id, "status": self.status, "read": self.read, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected, "warned": self.warned}


class ImportPayloadPart(db.Model):
    """The received bytes, encrypted, in parts, until the batch finishes (then deleted): the
    database, not a worker's disk, holds what a resumed run must read again."""

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRejectedRow(db.Model):
    """A row that could not be imported, or (`kept`) one imported with a note to correct (a
    malformed ID number set aside): the file's own columns and why. The columns are kept
    encrypted (they hold names and phones) and ID numbers in them masked before storing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    original: Mapped[str] = mapped_column(EncryptedText)  # JSON object: header → cell text
    errors: Mapped[list] = mapped_column(JSON, default=list)  # [{"field": …, "reason": …}]
    kept: Mapped[bool] = mapped_column(default=False, server_default=false())  # a warning, not a rejection

    @property
    def columns(self) -> dict:
        return json.loads(self.original or "{}")


class HospitalApiToken(db.Model):
    """A HIS integration's credential. Only its SHA-256 is stored; the token is shown once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists so admins can tell tokens apart
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    hospital: Mapped[Hospital] = relationship()


class HospitalColumnMapping(db.Model):
    """A hospital's own header → our field (for exports that name columns their own way)."""

    __table_args__ = (UniqueConstraint("hospital_id", "source_header"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    source_header: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(32))


class HospitalCodeMap(db.Model):
    """A hospital's own code for a coded field (its HIS's 离院方式 codes, say) → ours. Read on top
    of the built-in tables (HL7 table 0112, FHIR discharge-disposition, the 病案首页 codes)."""

    __table_args__ = (UniqueConstraint("hospital_id", "field", "source_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))  # disposition
    source_code: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(8))
