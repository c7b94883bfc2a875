"""The search box of callers' pages, and the inbound call (来电): a nurse types the number that is
ringing and lands on that patient's open task in her queue, claimed, or is told why not."""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..core import audit
from ..core.access import task_filter
from ..core.crypto import Keys
from ..extensions import db
from ..models import Discharge, FollowupTask, User
from ..models.task import OPEN_STATUSES
from ..patients import search as patient_search
from . import CallError, policy, queueing


@dataclass
class Found:
    text: str
    discharges: list = field(default_factory=list)
    task: FollowupTask | None = None       # claimed for an inbound call
    why_not: str | None = None              # no_patient | several | no_open_task | held | ""
    held_by: str = ""
    held_until: datetime | None = None
    tasks_by_discharge: dict = field(default_factory=dict)


def find(user: User, text: str, now: datetime, pol: policy.Policy, keys: Keys, *, answer: bool) -> Found:
    """Search in the user's scope. With answer=True and a whole phone number: claim the open task
    of the one patient who has that number (the most urgent, in the user's own queue)."""
    out = Found(text=(text or "")[:64])
    terms = patient_search.parse(out.text)
    out.discharges = patient_search.search(user, out.text, keys)
    audit.record("patient.search", user=user, detail={"results": len(out.discharges), "inbound": bool(answer and terms.phone)},
                 now=now)
    out.tasks_by_discharge = _open_tasks(user, [d.id for d in out.discharges])
    if answer and terms.phone:
        _answer(user, out, terms.phone, now, pol, keys)
    return out


def _open_tasks(user: User, discharge_ids: list[int]) -> dict:
    if not discharge_ids:
        return {}
    by = {}
    for t in db.session.scalars(select(FollowupTask).where(
            FollowupTask.discharge_id.in_(discharge_ids), task_filter(user), FollowupTask.status.in_(OPEN_STATUSES))
            .order_by(FollowupTask.due_at)):
        by.setdefault(t.discharge_id, []).append(t)
    return by


def _answer(user: User, out: Found, phone: str, now: datetime, pol: policy.Policy, keys: Keys) -> None:
    patients = patient_search.patients_by_phone(user, phone, keys)
    if not patients:
        out.why_not = "no_patient"
        return
    if len(patients) > 1:
        out.why_not = "several"
        return
    task = db.session.scalar(
        select(FollowupTask).join(Discharge, Discharge.id == FollowupTask.discharge_id)
        .where(Discharge.patient_id == patients[0], task_filter(user), FollowupTask.status.in_(OPEN_STATUSES))
        .order_by(FollowupTask.due_at, FollowupTask.id).limit(1))
    if task is None:
        out.why_not = "no_open_task"
        return
    try:
        out.task = queueing.claim_task(user, task.id, now, pol, inbound=True)
    except CallError as err:
        out.why_not = "held"
        out.held_by = err.extra.get("held_by", "")
        until = err.extra.get("held_until")
        out.held_until = datetime.fromisoformat(until) if until else None
