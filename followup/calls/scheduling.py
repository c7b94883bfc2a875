"""The follow-up rule: which discharges get tasks, and when each task is due (出院7日内)."""
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..core.clock import local_midnight
from ..extensions import db
from ..models import Discharge, FollowupTask, Level


def due_at_for(discharge_date: date, deadline_days: int | None = None) -> datetime:
    """Due at the end of the 7th local calendar day after the discharge day.

    Discharged on 1 March (any time of day) → due before 00:00 on 9 March, Asia/Shanghai, so a
    patient discharged late in the evening still gets seven whole days of calling."""
    n = deadline_days if deadline_days is not None else current_app.config["FOLLOWUP_DEADLINE_DAYS"]
    return local_midnight(discharge_date + timedelta(days=n + 1))


def create_tasks(discharge: Discharge) -> list[FollowupTask]:
    """Add the ward-level and hospital-level tasks of an eligible discharge (none if it died).

    Idempotent: levels that already have a task are skipped. Flushes, never commits."""
    if not discharge.eligible:
        return []
    existing = set()
    if discharge.id is not None:
        existing = set(db.session.scalars(
            select(FollowupTask.level).where(FollowupTask.discharge_id == discharge.id)))
    due = due_at_for(discharge.discharge_date)
    tasks = [
        FollowupTask(discharge=discharge, level=level, hospital_id=discharge.hospital_id,
                     ward_id=discharge.ward_id, due_at=due)
        for level in Level if level.value not in existing
    ]
    db.session.add_all(tasks)
    db.session.flush()
    return tasks
