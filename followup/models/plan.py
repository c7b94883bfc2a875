"""Follow-up plans (随访方案) beyond the two mandatory calls: per department and/or ICD-10 code
prefix, calls at T+N days with their own script, form and deadline; and the record a plan call
saves (PlanRecord)."""
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .call import CallFacts
from .org import Ward
from .task import FollowupTask
from .types import UTCDateTime


class FollowupPlan(db.Model):
    """A plan matches a discharge by department (ward_id) and/or diagnosis code prefix; at least
    one of the two is set. Each day in `days` (T+N after the discharge date) is one call, due
    `deadline_days` days after its target day."""

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"))
    icd_prefix: Mapped[str] = mapped_column(String(16), default="")  # "I50", upper case, no dot
    level: Mapped[str] = mapped_column(String(8), default="ward")    # whose queue: ward or hospital
    days: Mapped[list] = mapped_column(JSON, default=list)           # [3, 30]
    deadline_days: Mapped[int] = mapped_column(SmallInteger, default=2)
    fields: Mapped[list] = mapped_column(JSON, default=list)         # keys of plans/library.py FIELDS
    script: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ward: Mapped[Ward | None] = relationship()


class PlanRecord(CallFacts, db.Model):
    """What a plan call (or a review reminder) recorded: the answers of the plan's fields."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"), unique=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempt.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # {field key: value}, see plans/library.py
    next_visit_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    task: Mapped[FollowupTask] = relationship()
