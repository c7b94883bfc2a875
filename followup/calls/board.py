"""The head nurse's ward board: tasks at risk or overdue in her queue, and the callers she may
assign them to. Reads only; assigning is queueing.assign_task."""
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core.access import CALLER_ROLES, task_filter
from ..extensions import db
from ..models import Discharge, FollowupTask, Role, TaskStatus, User
from ..models.user import user_wards
from . import policy

BOARD_LIMIT = 200  # per section


def may_use_board(user) -> bool:
    return bool(getattr(user, "is_head_nurse", False)) and user.role_enum in CALLER_ROLES


def board_tasks(head, now: datetime, pol: policy.Policy | None = None) -> list[FollowupTask]:
    """Open tasks due within the at-risk window (still savable: these first), then overdue ones;
    each most urgent first."""
    horizon = now + (pol or policy.default()).at_risk
    base = (select(FollowupTask).where(task_filter(head), FollowupTask.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED)))
            .order_by(FollowupTask.due_at, FollowupTask.id).limit(BOARD_LIMIT)
            .options(selectinload(FollowupTask.discharge).selectinload(Discharge.patient),
                     selectinload(FollowupTask.discharge).selectinload(Discharge.ward)))
    at_risk = db.session.scalars(base.where(FollowupTask.due_at > now, FollowupTask.due_at <= horizon))
    overdue = db.session.scalars(base.where(FollowupTask.due_at <= now))
    return [*at_risk, *overdue]


def callers_for(head) -> list[User]:
    """Active callers working the head's queue: her wards' nurses, or her hospital's centre."""
    q = select(User).where(User.active.is_(True), User.role == head.role)
    if head.role_enum == Role.NURSE:
        q = q.where(User.id.in_(select(user_wards.c.user_id).where(user_wards.c.ward_id.in_(head.ward_ids or [-1]))))
    else:
        q = q.where(User.hospital_id == head.hospital_id)
    return list(db.session.scalars(q.order_by(User.display_name)))


def task_summary(user, now: datetime) -> dict:
    """The home page's counts over the user's scope: tasks per status, and how many open or
    claimed ones are past their deadline."""
    counts = dict(db.session.execute(
        select(FollowupTask.status, func.count()).where(task_filter(user)).group_by(FollowupTask.status)).all())
    overdue = db.session.scalar(select(func.count()).select_from(FollowupTask).where(
        task_filter(user), FollowupTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]),
        FollowupTask.due_at <= now))
    return {"counts": counts, "overdue": overdue}
