"""Commission audit samples (第三方随机抽查): the draw record, its frozen population per hospital
(stratum), the sampled records with the auditor's calls, and each verification run.

The frozen population of a stratum is one binary column (8-byte big-endian discharge ids,
ascending) rather than a row per discharge: a city draw over 10M discharges writes 80 MB in
~100 rows instead of 10M rows plus an index (measured ~10x slower); see docs/sampling.md."""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.crypto import EncryptedText
from ..extensions import db
from .org import Hospital, Region
from .types import UTCDateTime


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class Classification(StrEnum):
    CONSISTENT = "consistent"
    SUSPECTED_FALSE = "suspected_false"        # hospital: done; patient: nobody called
    LOST_BUT_REACHABLE = "lost_but_reachable"  # hospital: lost (失访); the auditor reached them
    NOT_VERIFIABLE = "not_verifiable"


class AuditSample(db.Model):
    """One draw. Never deleted or redrawn in place: a second draw for the same region and period
    is a new row with draw_no + 1 and a written reason."""

    __table_args__ = (UniqueConstraint("region_id", "period_start", "period_end", "draw_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)   # first local day included
    period_end: Mapped[date] = mapped_column(Date)     # first local day NOT included
    draw_no: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(Text, default="")  # required when draw_no > 1
    rate: Mapped[str] = mapped_column(String(16))          # exact decimal, e.g. "0.01"
    algorithm: Mapped[str] = mapped_column(String(32))
    system_seed: Mapped[str] = mapped_column(String(64))   # hex of 32 CSPRNG bytes made at the draw
    public_seed: Mapped[str] = mapped_column(String(200))  # entered by the auditor
    population_size: Mapped[int] = mapped_column(Integer)
    population_digest: Mapped[str] = mapped_column(String(64))
    sample_size: Mapped[int] = mapped_column(Integer)
    sample_digest: Mapped[str] = mapped_column(String(64))
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship()
    strata: Mapped[list["SampleStratum"]] = relationship(
        back_populates="sample", order_by="SampleStratum.hospital_id")
    drawn_by: Mapped["User | None"] = relationship()  # noqa: F821


class SampleStratum(db.Model):
    """One hospital of a draw: its frozen population and how many were drawn from it."""

    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_sample.id", ondelete="CASCADE"),
                                           primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), primary_key=True)
    population_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    population_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of population_ids
    population_ids: Mapped[bytes] = mapped_column(LargeBinary)  # 8-byte big-endian ids, ascending

    sample: Mapped[AuditSample] = relationship(back_populates="strata")
    hospital: Mapped[Hospital] = relationship()


class SampledRecord(db.Model):
    """A sampled discharge, and what the auditor heard when calling the patient. The hospital's
    own record is copied in (hospital_*) when the result is saved, so a later edit by the
    hospital cannot turn a discrepancy into agreement."""

    __table_args__ = (UniqueConstraint("sample_id", "discharge_id"),
                      Index("ix_sampled_record_sample_hospital", "sample_id", "hospital_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_sample.id", ondelete="CASCADE"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    discharge_id: Mapped[int] = mapped_column(ForeignKey("discharge.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1 = lowest rank in its stratum
    # The auditor's result (null until recorded).
    reached: Mapped[bool | None] = mapped_column(Boolean)
    hospital_called: Mapped[str | None] = mapped_column(String(8))      # Answer
    medication_guidance: Mapped[str | None] = mapped_column(String(8))  # Answer
    rehab_guidance: Mapped[str | None] = mapped_column(String(8))       # Answer
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)      # 1–5
    opinions: Mapped[str | None] = mapped_column(EncryptedText)         # the patient's words
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The hospital's record at that moment, and the comparison.
    hospital_status: Mapped[str | None] = mapped_column(String(12))
    hospital_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hospital_satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    classification: Mapped[str | None] = mapped_column(String(24))

    sample: Mapped[AuditSample] = relationship()
    hospital: Mapped[Hospital] = relationship()
    discharge: Mapped["Discharge"] = relationship()  # noqa: F821
    attempts: Mapped[list["SampleCallAttempt"]] = relationship(
        back_populates="record", order_by="SampleCallAttempt.at")


class SampleCallAttempt(db.Model):
    """One dial by the auditor; never edited."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("sampled_record.id", ondelete="CASCADE"), index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # models.call.Outcome values
    note: Mapped[str] = mapped_column(Text, default="")

    record: Mapped[SampledRecord] = relationship(back_populates="attempts")


class SampleCheck(db.Model):
    """One verification run (CLI or button): identical or the list of differences."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_sample.id", ondelete="CASCADE"), index=True)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list] = mapped_column(JSON, default=list)
