"""Follow-up tasks: one ward-level (科室随访) and one hospital-level (院级随访) per eligible discharge."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .discharge import Discharge
from .types import UTCDateTime


class Level(StrEnum):
    WARD = "ward"          # 科室随访: treatment effect, medication and rehab guidance
    HOSPITAL = "hospital"  # 院级随访: opinions, complaints, satisfaction


class TaskStatus(StrEnum):
    OPEN = "open"            # waiting in the queue
    CLAIMED = "claimed"      # a caller is on it
    DONE = "done"            # followed up (reached and recorded)
    LOST = "lost"            # 失访: unreachable after all attempts
    CLOSED = "closed"        # ended without a follow-up (deceased, refused, ...): see close_reason


OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class TaskKind(StrEnum):
    MANDATORY = "mandatory"  # the two calls every eligible discharge gets (7-day rule); plans never touch them
    PLAN = "plan"            # a step of a follow-up plan (随访方案: department / diagnosis, T+N)
    REVIEW = "review"        # a reminder the day before the review visit (下次复诊日期) recorded on a call


def _where(condition: str) -> dict:
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class FollowupTask(db.Model):
    __table_args__ = (
        # One key says the task belongs to an existing stay AND to that stay's hospital; it used to
        # be three (discharge, hospital, ward), each a lookup per task row: 2 per discharge, so a
        # 1M-row import paid 6M of them (bench/import_checks.py). The ward is not keyed: it is
        # derived, copied from the stay (a ward-keyed FK) by every writer, and a finished task
        # keeps the ward that did the work when the stay's ward is corrected, so it cannot be
        # tied to the stay's current ward.
        ForeignKeyConstraint(["discharge_id", "hospital_id"], ["discharge.id", "discharge.hospital_id"],
                             ondelete="CASCADE"),
        # One mandatory task per level, one task per plan step, one review reminder per discharge.
        Index("uq_followup_task_mandatory", "discharge_id", "level", unique=True, **_where("kind = 'mandatory'")),
        Index("uq_followup_task_plan_step", "discharge_id", "plan_id", "plan_day", unique=True,
              **_where("plan_id IS NOT NULL")),
        Index("uq_followup_task_review", "discharge_id", unique=True, **_where("kind = 'review'")),
        # "Next call" reads these in (due_at, id) order and stops at the first free row: id is
        # in the index because a day's discharges share one deadline (thousands of ties).
        Index("ix_task_queue_hospital", "hospital_id", "level", "status", "due_at", "id"),
        Index("ix_task_queue_ward", "ward_id", "level", "status", "due_at", "id"),
        # The deadline watch: abandoned claims, and open tasks by deadline.
        # Partial where a new task leaves the column empty: a bulk import of 2M tasks then adds
        # nothing to them, and every query that reads them names a value (migration 0010).
        Index("ix_task_status_claimed_at", "status", "claimed_at", **_where("claimed_at IS NOT NULL")),
        Index("ix_task_status_due_at", "status", "due_at"),
        Index("ix_task_callback_at", "callback_at", **_where("callback_at IS NOT NULL")),  # callbacks go first
        Index("ix_followup_task_assigned_to_id", "assigned_to_id", **_where("assigned_to_id IS NOT NULL")),
        Index("ix_task_close_mark", "close_mark_id", **_where("close_mark_id IS NOT NULL")),
        # A patient's tasks through the patient's stays: pacing and one caller per patient, on
        # every dial (the unique indexes above are partial: they serve one kind each).
        Index("ix_task_discharge_id", "discharge_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    discharge_id: Mapped[int] = mapped_column()
    level: Mapped[str] = mapped_column(String(8))
    # Copied from the discharge so queues are one index scan; a discharge never changes hospital.
    hospital_id: Mapped[int] = mapped_column()
    ward_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.OPEN)
    kind: Mapped[str] = mapped_column(String(12), default=TaskKind.MANDATORY, server_default="mandatory")
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("followup_plan.id", ondelete="CASCADE"))
    plan_day: Mapped[int | None] = mapped_column(SmallInteger)  # T+N of the plan step
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The patient's own "call me at" time: wins over calling hours (followup/calls/policy.py).
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once by the deadline watch when the task comes within the at-risk window.
    at_risk_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    # The patient-level mark (death, do-not-call) that closed it: undoing the mark reopens it.
    close_mark_id: Mapped[int | None] = mapped_column(ForeignKey("patient_mark.id"))
    # What the ward must complete before anyone can call: 'phone', 'disposition' or both
    # ('phone,disposition'); NULL = complete. Such a task is due and counted, never callable.
    needs_data: Mapped[str | None] = mapped_column(String(24))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    discharge: Mapped[Discharge] = relationship(back_populates="tasks")
    plan: Mapped["FollowupPlan | None"] = relationship()  # noqa: F821

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def missing(self) -> list[str]:
        return self.needs_data.split(",") if self.needs_data else []

    def overdue(self, now: datetime) -> bool:
        return self.is_open and now >= self.due_at
