"""Patients' opinions (意见建议, 投诉, 表扬) and the rectification ledger (整改台账, 挂账销号)."""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class Sentiment(StrEnum):
    COMPLAINT = "complaint"    # 投诉
    SUGGESTION = "suggestion"  # 意见建议
    PRAISE = "praise"          # 表扬


class Category(StrEnum):
    SERVICE_ATTITUDE = "service_attitude"   # 服务态度
    MEDICAL_QUALITY = "medical_quality"     # 医疗质量
    COMMUNICATION = "communication"         # 沟通解释
    COST = "cost"                           # 费用收费
    WAITING_PROCESS = "waiting_process"     # 等候与流程
    ENVIRONMENT = "environment"             # 环境卫生
    FOOD = "food"                           # 膳食
    PARKING_ACCESS = "parking_access"       # 停车与交通
    OTHER = "other"                         # 其他


class Opinion(db.Model):
    """What a patient said, as recorded on a call. `text` is never altered; QA may reclassify
    (category, sentiment, department), and the recorder's original classification is kept."""

    __table_args__ = (Index("ix_opinion_hospital_recorded", "hospital_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    discharge_id: Mapped[int] = mapped_column(ForeignKey("discharge.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("followup_task.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="hospital_call")  # or ward_call, audit_call
    text: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(24))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"), index=True)  # department concerned
    original_sentiment: Mapped[str] = mapped_column(String(12))
    original_category: Mapped[str] = mapped_column(String(24))
    original_ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reclassified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reclassified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ItemStatus(StrEnum):
    OPEN = "open"            # assigned to a department, waiting for its response
    RESPONDED = "responded"  # the department wrote cause and measures; QA to verify
    CLOSED = "closed"        # verified by QA and struck off (销号)


class RectificationItem(db.Model):
    """One problem on the ledger, assigned to a department with a due date, open until QA
    verifies and closes it. Every step is a RectificationEvent (append-only)."""

    __table_args__ = (Index("ix_rect_item_hospital_status", "hospital_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"), index=True)  # responsible dept
    opinion_id: Mapped[int | None] = mapped_column(ForeignKey("opinion.id"), unique=True)
    source: Mapped[str] = mapped_column(String(12), default="complaint")  # complaint|qa|intake|rating|commission
    problem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=ItemStatus.OPEN)
    due_date: Mapped[date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    opinion: Mapped[Opinion | None] = relationship()
    case: Mapped["ItemCase | None"] = relationship(back_populates="item", uselist=False)
    evidence: Mapped[list["ItemEvidence"]] = relationship(order_by="ItemEvidence.id", back_populates="item")
    events: Mapped[list["RectificationEvent"]] = relationship(order_by="RectificationEvent.id",
                                                              back_populates="item")


class RectificationEvent(db.Model):
    """Append-only history of a ledger item: who did what, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rectification_item.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(16))  # created, assigned, responded, returned, closed
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    item: Mapped[RectificationItem] = relationship(back_populates="events")


class ItemCase(db.Model):
    """What one intake adds to a ledger item (rectification/complaints.py, findings.py): the
    patient, the channel it came in by, category and urgency, the named responsible person, the
    evidence text at close, the reply to the patient (回复患者), and for a commission finding the
    region whose auditors raised it and alone strike it off. Items opened from calls before
    this existed have none until a step needs one."""

    item_id: Mapped[int] = mapped_column(ForeignKey("rectification_item.id", ondelete="CASCADE"), primary_key=True)
    discharge_id: Mapped[int | None] = mapped_column(ForeignKey("discharge.id"), index=True)
    channel: Mapped[str | None] = mapped_column(String(24))     # complaints.CHANNELS
    category: Mapped[str | None] = mapped_column(String(24))    # Category
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    evidence_text: Mapped[str] = mapped_column(Text, default="")
    reply_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    reply_satisfaction: Mapped[str | None] = mapped_column(String(16))  # complaints.REPLY_SATISFACTION
    commission_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    sampled_record_id: Mapped[int | None] = mapped_column(ForeignKey("sampled_record.id"), unique=True)

    item: Mapped[RectificationItem] = relationship(back_populates="case")


class ItemEvidence(db.Model):
    """A file attached to a ledger item as evidence: stored outside static/ under a random name,
    served only to those who may see the item."""

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rectification_item.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))   # as uploaded: shown, never used as a path
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)  # random hex: the name on disk
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[RectificationItem] = relationship(back_populates="evidence")
