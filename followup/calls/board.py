"""The head nurse's ward board: tasks at risk or overdue in her queue, and the callers she may
assign them to. Reads only; assigning is queueing.assign_task."""
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core.access import CALLER_ROLES, task_filter
from ..extensions import db
from ..models import Discharge, FollowupTask, Role, TaskStatus, User
from ..models.user import user_wards
from ..schemas.calls import queue_rows
from . import CallError, policy, queueing
from .queueing import QueueFilter

PAGE_SIZE = 50  # rows per page of a section
SECTIONS = ("at_risk", "overdue")


def may_use_board(user) -> bool:
    return bool(getattr(user, "is_head_nurse", False)) and user.role_enum in CALLER_ROLES


def _section_clause(section: str, now: datetime, pol: policy.Policy):
    """At risk: due within the at-risk window (still savable); overdue: past the deadline. The
    same bounds as the queue's tiles (queueing.queue_counts), so the board's counts are the queue's."""
    if section == "overdue":
        return FollowupTask.due_at <= now
    return (FollowupTask.due_at > now) & (FollowupTask.due_at <= now + pol.at_risk)


def board_tasks(head, now: datetime, pol: policy.Policy | None = None, *, section: str = "at_risk",
                flt: QueueFilter = QueueFilter(), limit: int = PAGE_SIZE, offset: int = 0) -> list[FollowupTask]:
    """One page of a section of the head's queue (open and claimed tasks under the filter), most
    urgent first, patient and ward loaded."""
    pol = pol or policy.default()
    q = (select(FollowupTask).where(task_filter(head), FollowupTask.status.in_(flt.statuses()), flt.clause(now),
                                    _section_clause(section, now, pol))
         .order_by(FollowupTask.due_at, FollowupTask.id).limit(limit).offset(offset)
         .options(selectinload(FollowupTask.discharge).selectinload(Discharge.patient),
                  selectinload(FollowupTask.discharge).selectinload(Discharge.ward)))
    return list(db.session.scalars(q))


def board_view(head, now: datetime, pol: policy.Policy, args) -> dict:
    """The board page: both sections' counts (the queue's own counts under the same filter), one
    section's page of rows, the filter and its options."""
    from .queue_view import _facets, parse_filter  # queue_view imports this module
    flt = parse_filter(args)
    counts = queueing.queue_counts(head, now, pol, flt)
    # Unless asked, the at-risk rows (still savable) come first; with none, the overdue ones.
    section = args.get("section") if args.get("section") in SECTIONS else (
        "at_risk" if counts["at_risk_24h"] or not counts["overdue"] else "overdue")
    total = counts["at_risk_24h"] if section == "at_risk" else counts["overdue"]
    pages = max(1, -(-total // PAGE_SIZE))
    page = max(1, min(args.get("page", 1, type=int) or 1, pages))
    rows = queue_rows(board_tasks(head, now, pol, section=section, flt=flt, limit=PAGE_SIZE,
                                  offset=(page - 1) * PAGE_SIZE), now, pol.at_risk)
    return {"rows": rows, "section": section, "counts": counts, "page": page, "pages": pages,
            "first": (page - 1) * PAGE_SIZE + 1 if rows else 0, "last": (page - 1) * PAGE_SIZE + len(rows),
            "total": total, "filter": flt, "facets": _facets(head, now, flt)}


def assign_many(head, task_ids: list[int], caller, now: datetime) -> tuple[int, int]:
    """Assign (or unassign, caller None) several tasks of the head's queue; tasks out of her
    scope are skipped as if absent. Returns (assigned, refused: ended or not the caller's ward)."""
    tasks = db.session.scalars(select(FollowupTask).where(task_filter(head), FollowupTask.id.in_(task_ids[:PAGE_SIZE]))
                               .order_by(FollowupTask.id)).all()
    done = refused = 0
    for task in tasks:
        try:  # assign_task checks everything before it changes anything
            queueing.assign_task(head, task, caller, now)
            done += 1
        except CallError:
            refused += 1
    return done, refused


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
