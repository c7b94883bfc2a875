"""The tasks plans create: one per plan step (T+N) for each matching eligible discharge, at import
and for past discharges when a plan is added; and the review reminder (下次复诊日期 − 1 day).

Rules (one place):
- a plan matches a discharge of its hospital when its department (if set) is the discharge's
  ward and its ICD-10 prefix (if set) starts the discharge's diagnosis code (dots ignored);
- a step is callable from the start of its target day (discharge date + N) and due at the end
  of the plan's deadline (target day + deadline_days), Asia/Shanghai;
- "within its window": a step whose deadline has already passed is never created (a late task
  would be born overdue);
- idempotent: a step that exists is never added again (re-import adds none); the two mandatory
  tasks are never read or changed here;
- patients who died in hospital get nothing; blocked patients (do-not-call, deceased) get
  nothing (`patients.blocks.blocked_among`)."""
from datetime import date, datetime, timedelta

from sqlalchemy import select, tuple_

from ..core.clock import local_date, local_midnight
from ..extensions import db
from ..models import Discharge, FollowupTask, TaskStatus
from ..models.discharge import DISPOSITION_DIED
from ..models.plan import FollowupPlan
from ..models.task import OPEN_STATUSES, Level, TaskKind
from ..patients.blocks import blocked_among

_IN_CHUNK = 900  # bind parameters per IN list (SQLite allows 999)


def normalise_icd(code: str) -> str:
    return (code or "").upper().replace(".", "").strip()


def matches(plan: FollowupPlan, ward_id: int, diagnosis_code: str) -> bool:
    if plan.ward_id is not None and plan.ward_id != ward_id:
        return False
    return not plan.icd_prefix or normalise_icd(diagnosis_code).startswith(normalise_icd(plan.icd_prefix))


def step_window(discharge_date: date, day: int, deadline_days: int) -> tuple[datetime, datetime]:
    """(callable from, due at) of the step T+day."""
    target = discharge_date + timedelta(days=day)
    return local_midnight(target), local_midnight(target + timedelta(days=deadline_days + 1))


def active_plans(hospital_id: int) -> list[FollowupPlan]:
    return list(db.session.scalars(select(FollowupPlan).where(
        FollowupPlan.hospital_id == hospital_id, FollowupPlan.active.is_(True)).order_by(FollowupPlan.id)))


def create_for_stays(hospital_id: int, stays, now: datetime) -> int:
    """Plan tasks for the stays (住院号, discharge date) just imported into the hospital. The
    import writer calls this after it has written a chunk's discharges and mandatory tasks.
    Costs one query when the hospital has no plan."""
    plans = active_plans(hospital_id)
    stays = list(stays)
    if not plans or not stays:
        return 0
    ids = []
    for i in range(0, len(stays), _IN_CHUNK):
        part = stays[i:i + _IN_CHUNK]
        wanted = set(part)
        ids += [did for did, no, day in db.session.execute(
            select(Discharge.id, Discharge.inpatient_no, Discharge.discharge_date).where(
                Discharge.hospital_id == hospital_id, Discharge.inpatient_no.in_({no for no, _ in part})))
            if (no, day) in wanted]
    return _create(hospital_id, plans, ids, now)


def backfill(plan: FollowupPlan, now: datetime) -> int:
    """A new plan reaches back to past discharges whose steps are still within their deadline."""
    reach = max(plan.days, default=0) + plan.deadline_days + 1
    since = local_date(now) - timedelta(days=reach)
    ids = list(db.session.scalars(select(Discharge.id).where(
        Discharge.hospital_id == plan.hospital_id, Discharge.discharge_date >= since)))
    return _create(plan.hospital_id, [plan], ids, now)


def _create(hospital_id: int, plans: list[FollowupPlan], discharge_ids: list[int], now: datetime) -> int:
    rows = []
    for i in range(0, len(discharge_ids), _IN_CHUNK):
        rows += db.session.execute(select(Discharge.id, Discharge.ward_id, Discharge.patient_id,
                                          Discharge.discharge_date, Discharge.diagnosis_code).where(
            Discharge.id.in_(discharge_ids[i:i + _IN_CHUNK]), Discharge.disposition != DISPOSITION_DIED)).all()
    blocked = blocked_among(hospital_id, {r.patient_id for r in rows})
    wanted = {}
    for r in rows:
        if r.patient_id in blocked:
            continue
        for plan in plans:
            if not matches(plan, r.ward_id, r.diagnosis_code):
                continue
            for day in sorted(set(plan.days)):
                start, due = step_window(r.discharge_date, day, plan.deadline_days)
                if due > now:
                    wanted[(r.id, plan.id, day)] = dict(
                        discharge_id=r.id, kind=TaskKind.PLAN.value, plan_id=plan.id, plan_day=day, level=plan.level,
                        hospital_id=hospital_id, ward_id=r.ward_id, status=TaskStatus.OPEN.value, due_at=due,
                        next_attempt_at=start if start > now else None, created_at=now, version=1)
    keys = list(wanted)
    for i in range(0, len(keys), 300):  # three binds per key
        part = keys[i:i + 300]
        for key in db.session.execute(select(FollowupTask.discharge_id, FollowupTask.plan_id, FollowupTask.plan_day)
                                      .where(tuple_(FollowupTask.discharge_id, FollowupTask.plan_id,
                                                    FollowupTask.plan_day).in_(part))):
            wanted.pop(tuple(key), None)
    if wanted:
        db.session.execute(FollowupTask.__table__.insert(), list(wanted.values()))
    return len(wanted)


def review_reminder(discharge: Discharge, visit: date, now: datetime) -> FollowupTask | None:
    """A reminder call the day before the review visit recorded on a call: one per discharge
    (a later date moves an open reminder); none when the visit is too close to remind."""
    start, due = local_midnight(visit - timedelta(days=1)), local_midnight(visit)
    if due <= now or discharge.patient_id in blocked_among(discharge.hospital_id, [discharge.patient_id]):
        return None
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.discharge_id == discharge.id,
                                                        FollowupTask.kind == TaskKind.REVIEW))
    if task is None:
        task = FollowupTask(discharge_id=discharge.id, kind=TaskKind.REVIEW, level=Level.WARD,
                            hospital_id=discharge.hospital_id, ward_id=discharge.ward_id, status=TaskStatus.OPEN,
                            created_at=now)
        db.session.add(task)
    elif task.status not in OPEN_STATUSES:
        return task
    task.due_at, task.next_attempt_at = due, (start if start > now else None)
    db.session.flush()
    return task
