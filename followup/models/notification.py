"""Notifications shown in the service (the bell), and the escalation of overdue work: each step
reached by a task, ledger item or red flag is one row, so a step is taken once."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class Notification(db.Model):
    """One message to one user. `text` never names a patient (ids and counts only)."""

    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)  # in the service language when it was sent
    # What to say again in the reader's language (notifications.shown_text); None on older rows.
    params: Mapped[dict | None] = mapped_column(JSON)
    link: Mapped[str] = mapped_column(String(255), default="")  # a path inside the service
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EscalationPolicy(db.Model):
    """A hospital's escalation thresholds: {subject: [hours per step]} (None = step skipped).
    Hours count from the subject's deadline (task due_at, item due date end, flag raised_at)."""

    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id", ondelete="CASCADE"), primary_key=True)
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EscalationStep(db.Model):
    """Step `step` (1 caller, 2 head nurse, 3 department director, 4 QA) taken for one subject."""

    __table_args__ = (UniqueConstraint("subject", "subject_id", "step"),
                      Index("ix_escalation_step_hospital_at", "hospital_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    subject: Mapped[str] = mapped_column(String(12))  # task | item | red_flag
    subject_id: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified: Mapped[list] = mapped_column(JSON, default=list)  # user ids told at this step
