"""Stored monthly summaries: the figures as generated for a hospital and month (a snapshot of
what was reported; the live page always recomputes from the records)."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class MonthlySummary(db.Model):
    __table_args__ = (UniqueConstraint("hospital_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-11", local calendar month
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # None = the job
    data: Mapped[dict] = mapped_column(JSON, default=dict)
