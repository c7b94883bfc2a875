"""Red-flag alerts (红旗预警) raised on ward-level calls: a patient whose answers need a doctor.

An alert is addressed to the ward, naming the discharge's attending doctor (主管医生). It stays
on the ward board and on the queue page of the ward's nurses until someone acknowledges it,
saying whom they told, so an alert can't silently fall through."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .task import FollowupTask
from .types import UTCDateTime


class RedFlagAlert(db.Model):
    __table_args__ = (Index("ix_red_flag_alert_ward_ack", "ward_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"), unique=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("ward_followup.id", ondelete="CASCADE"))
    doctor: Mapped[str] = mapped_column(String(64), default="")  # the attending doctor at discharge
    note: Mapped[str] = mapped_column(Text, default="")          # what the nurse heard
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_note: Mapped[str] = mapped_column(Text, default="")      # e.g. "told Dr Wang, patient to come in"

    task: Mapped[FollowupTask] = relationship()
