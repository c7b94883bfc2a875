"""The commission's composite monthly score: weights per city (edited by the city auditor) and
the month's figures locked on the 3rd of the next month (每月3日前报上月工作)."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class ScoreWeights(db.Model):
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"), primary_key=True)
    weights: Mapped[dict] = mapped_column(JSON, default=dict)  # metric -> weight (>= 0)
    complaints_cap: Mapped[int] = mapped_column(SmallInteger, default=10)  # per 1,000 → score 0
    bottom_n: Mapped[int] = mapped_column(SmallInteger, default=3)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommissionSnapshot(db.Model):
    """The city's figures for a month as locked: every hospital's metrics, score and ranks."""

    __table_args__ = (UniqueConstraint("region_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    month: Mapped[str] = mapped_column(String(7))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
