"""Per-department settings and the monthly feedback to departments: where an opinion's category
goes and how long it may stay open (per hospital), and each department's monthly feedback notice
with its acknowledgement."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .org import Ward
from .types import UTCDateTime


class CategoryRoute(db.Model):
    """A hospital's own rule for one opinion category: the department it suggests and the days
    an item of that category may stay open. Missing rows fall back to the defaults in
    rectification/departments.py."""

    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(24), primary_key=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id", ondelete="SET NULL"))
    due_days: Mapped[int | None] = mapped_column(Integer)


class DepartmentFeedback(db.Model):
    """A department's monthly feedback: made ready by the monthly job (the notice), then
    acknowledged by the department head."""

    __table_args__ = (UniqueConstraint("ward_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ward: Mapped[Ward] = relationship()
