"""The deadline watch: return abandoned claims, flag tasks coming within the at-risk window,
and mark tasks lost to follow-up (失访) once their deadline has passed under the lost rule.
Overdue needs no flag: it is due_at <= now, read from the task. Idempotent; flushes only.

Each step takes the rows it changes with FOR UPDATE SKIP LOCKED (PostgreSQL): a task a caller is
claiming or recording right now is left for the next minute's pass. The watch never waits for a
caller, so it cannot deadlock with one (a bulk UPDATE in table order against callers locking a
task and then its patient did, under bench/load.py); and the job commits after each step, so no
caller waits long for the rows the watch holds."""
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select, update

from ..extensions import db
from ..models import FollowupTask, TaskStatus
from ..models.call import CallAttempt
from . import policy
from .queueing import release_expired_claims, unlocked


def flag_at_risk(now: datetime, pol: policy.Policy | None = None) -> int:
    """Stamp at_risk_at once on open tasks due within the at-risk window (not a counter: a
    marker of when the task became urgent; the version is not bumped, callers are not stale)."""
    pol = pol or policy.default()
    return db.session.execute(
        update(FollowupTask)
        .where(FollowupTask.id.in_(unlocked(
            FollowupTask.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
            FollowupTask.due_at <= now + pol.at_risk, FollowupTask.at_risk_at.is_(None))),
            FollowupTask.at_risk_at.is_(None))
        .values(at_risk_at=now).execution_options(synchronize_session=False)).rowcount


def mark_lost(now: datetime, pol: policy.Policy | None = None) -> list[int]:
    """Open (unclaimed) tasks past their deadline that meet the lost rule become LOST."""
    pol = pol or policy.default()
    enough = (select(CallAttempt.task_id).join(FollowupTask, FollowupTask.id == CallAttempt.task_id)
              .where(FollowupTask.status == TaskStatus.OPEN, FollowupTask.due_at <= now)
              .group_by(CallAttempt.task_id).having(func.count() >= pol.lost_min_attempts))
    times = defaultdict(list)
    due = {}
    for task_id, at, due_at in db.session.execute(
            select(CallAttempt.task_id, CallAttempt.at, FollowupTask.due_at)
            .join(FollowupTask, FollowupTask.id == CallAttempt.task_id)
            .where(CallAttempt.task_id.in_(enough))):
        times[task_id].append(at)
        due[task_id] = due_at
    lost = [t for t, ts in times.items() if policy.is_lost(ts, due[t], now, pol)]
    for chunk in (lost[i:i + 500] for i in range(0, len(lost), 500)):
        db.session.execute(
            update(FollowupTask)
            .where(FollowupTask.id.in_(unlocked(FollowupTask.id.in_(chunk), FollowupTask.status == TaskStatus.OPEN)),
                   FollowupTask.status == TaskStatus.OPEN)
            .values(status=TaskStatus.LOST, close_reason=policy.LOST_UNREACHABLE, completed_at=now,
                    version=FollowupTask.version + 1)
            .execution_options(synchronize_session=False))
    return lost


STEPS = (("released", lambda now, pol: release_expired_claims(now, pol=pol)),
         ("at_risk", flag_at_risk),
         ("lost", lambda now, pol: len(mark_lost(now, pol))))


def watch(now: datetime, pol: policy.Policy | None = None, after_step=None) -> dict:
    """The service-wide rules (claim timeout, at-risk window, lost rule) come from config.
    `after_step` (the job passes the session's commit) runs after each step."""
    out = {}
    for name, step in STEPS:
        out[name] = step(now, pol)
        if after_step is not None:
            after_step()
    return out
