"""What happens on a follow-up call: each dial (CallAttempt) and the record of the follow-up,
ward level (WardFollowup, 科室随访) or hospital level (HospitalFollowup, 院级随访)."""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .task import FollowupTask
from .types import UTCDateTime


class Outcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    POWERED_OFF = "powered_off"
    WRONG_NUMBER = "wrong_number"   # wrong or invalid number
    REFUSED = "refused"
    DECEASED = "deceased"
    READMITTED = "readmitted"
    CALLBACK = "callback"           # asked to be called back at a time


class Condition(StrEnum):
    RECOVERED = "recovered"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSE = "worse"
    READMITTED = "readmitted"


# Guidance areas of the ward-level call (出院7日内电话回访 covers these five).
GUIDANCE_AREAS = ("medication", "rehab", "daily_living", "diet", "self_care")


class Respondent(StrEnum):
    """Who answered the call. HCAHPS: only the patient's own answers count in satisfaction figures."""
    PATIENT = "patient"
    FAMILY = "family"   # a family member: the relation is recorded (配偶, 子女, ...)
    OTHER = "other"     # a carer, a neighbour, ...


class DurationSource(StrEnum):
    CALLER = "caller"              # typed in by the caller
    PHONE_SYSTEM = "phone_system"  # reported by the telephony system (API)


class CallFacts:
    """Columns every saved follow-up form has: who answered and how long the call took."""
    respondent: Mapped[str] = mapped_column(String(8), default=Respondent.PATIENT, server_default="patient")
    respondent_relation: Mapped[str] = mapped_column(String(32), default="", server_default="")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    duration_source: Mapped[str | None] = mapped_column(String(12))


# Satisfaction dimensions of the hospital-level call, each 1–5.
SATISFACTION_DIMENSIONS = ("overall", "doctors", "nurses", "environment", "cost", "process")


class CallAttempt(db.Model):
    """One dial. Attempts are never edited: the retry and lost-to-follow-up rules read them."""

    __table_args__ = (Index("ix_call_attempt_task_at", "task_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"))
    caller_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for Outcome.CALLBACK
    number_index: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = primary phone
    note: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[FollowupTask] = relationship()


class WardFollowup(CallFacts, db.Model):
    """The ward-level record: condition, medicines taken, guidance given, next visit, red flag."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"), unique=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempt.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    condition: Mapped[str] = mapped_column(String(16))
    # [{"medicine": "阿司匹林肠溶片 100mg 每日一次", "as_prescribed": true, "note": ""}, ...]
    medication_adherence: Mapped[list] = mapped_column(JSON, default=list)
    # {"medication": {"given": true, "choices": [...], "text": "..."}, "rehab": {...}, ...}
    guidance: Mapped[dict] = mapped_column(JSON, default=dict)
    next_visit_date: Mapped[date | None] = mapped_column(Date)
    red_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    red_flag_note: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    task: Mapped[FollowupTask] = relationship()


class HospitalFollowup(CallFacts, db.Model):
    """The hospital-level record: satisfaction 1–5 per dimension, complaint and praise flags.
    The patient's words are Opinion rows (models/opinion.py) linked to the task."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_task.id", ondelete="CASCADE"), unique=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempt.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # monthly figures
    sat_overall: Mapped[int | None] = mapped_column(SmallInteger)
    sat_doctors: Mapped[int | None] = mapped_column(SmallInteger)
    sat_nurses: Mapped[int | None] = mapped_column(SmallInteger)
    sat_environment: Mapped[int | None] = mapped_column(SmallInteger)
    sat_cost: Mapped[int | None] = mapped_column(SmallInteger)
    sat_process: Mapped[int | None] = mapped_column(SmallInteger)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    praise: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    task: Mapped[FollowupTask] = relationship()


class CallScript(db.Model):
    """A call script (话术) with placeholders {patient_name} {discharge_date} {department}
    {doctor}; per hospital and level, optionally per department (ward_id null = the default)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"))
    level: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
