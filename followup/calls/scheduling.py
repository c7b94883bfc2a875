"""The follow-up rule: which discharges get tasks, and when each task is due (出院7日内)."""
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..core.clock import local_midnight
from ..extensions import db
from ..models import Discharge, FollowupTask, Level
from ..patients.blocks import is_blocked


def due_at_for(discharge_date: date, deadline_days: int | None = None) -> datetime:
    """Due at the end of the 7th local calendar day after the discharge day.

    Discharged on 1 March (any time of day) → due before 00:00 on 9 March, Asia/Shanghai, so a
    patient discharged late in the evening still gets seven whole days of calling."""
    if deadline_days is None:
        from ..config import Config
        deadline_days = Config.FOLLOWUP_DEADLINE_DAYS
    n = deadline_days
    return local_midnight(discharge_date + timedelta(days=n + 1))


def create_tasks(discharge: Discharge, deadline_days: int | None = None) -> list[FollowupTask]:
    """Add the ward-level and hospital-level tasks of an eligible discharge (none if it died, or
    if the patient is blocked: died since, or marked do-not-call; followup/patients/blocks.py).

    Idempotent: levels that already have a task are skipped. Flushes, never commits."""
    if not discharge.eligible:
        return []
    db.session.flush()  # the patient's row must exist for the block check
    if is_blocked(discharge.patient):
        return []
    existing = set()
    if discharge.id is not None:
        existing = set(db.session.scalars(
            select(FollowupTask.level).where(FollowupTask.discharge_id == discharge.id)))
    due = due_at_for(discharge.discharge_date, deadline_days)
    tasks = [
        FollowupTask(discharge=discharge, level=level, hospital_id=discharge.hospital_id,
                     ward_id=discharge.ward_id, due_at=due)
        for level in Level if level.value not in existing
    ]
    db.session.add_all(tasks)
    db.session.flush()
    return tasks
