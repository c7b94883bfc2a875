"""Call quality control (质控抽查): each month a reproducible random sample of every caller's
completed calls, and QA's review of each sampled call."""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .task import FollowupTask
from .types import UTCDateTime


class QcPolicy(db.Model):
    """A hospital's QC rate (percent of each caller's completed calls) and its stored seed."""

    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id", ondelete="CASCADE"), primary_key=True)
    rate_percent: Mapped[int] = mapped_column(SmallInteger, default=10)
    seed: Mapped[str] = mapped_column(String(64))  # hex; with hospital and month it fixes the draw
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QcSample(db.Model):
    __table_args__ = (UniqueConstraint("hospital_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    month: Mapped[str] = mapped_column(String(7))
    rate_percent: Mapped[int] = mapped_column(SmallInteger)
    seed: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    reviews: Mapped[list["QcReview"]] = relationship(back_populates="sample", order_by="QcReview.id")


class QcReview(db.Model):
    """One sampled call and QA's review of it (null answers until reviewed)."""

    __table_args__ = (UniqueConstraint("sample_id", "task_id"), Index("ix_qc_review_sample_caller", "sample_id", "caller_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("qc_sample.id", ondelete="CASCADE"))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id"))
    caller_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    level: Mapped[str] = mapped_column(String(8))
    form_complete: Mapped[bool | None] = mapped_column(Boolean)
    guidance_matched: Mapped[bool | None] = mapped_column(Boolean)   # ward level only
    opinion_verbatim: Mapped[bool | None] = mapped_column(Boolean)   # when opinions were recorded
    note: Mapped[str] = mapped_column(Text, default="")
    callback_outcome: Mapped[str | None] = mapped_column(String(16))  # confirmed | disagreed | unreachable
    callback_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    sample: Mapped[QcSample] = relationship(back_populates="reviews")
    task: Mapped[FollowupTask] = relationship()
