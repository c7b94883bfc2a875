"""The data of the queue page: filters with their counts, the calling hours now, and each row's
next callable time, why it cannot be called now, and who else is on the patient."""
from dataclasses import dataclass
from datetime import datetime

from ..models import FollowupTask, Level, TaskStatus, User, Ward
from ..extensions import db
from ..schemas.calls import queue_rows
from . import policy, queueing, alerts
from .board import may_use_board
from .queueing import QueueFilter

PAGE_SIZE = 50


def parse_filter(args) -> QueueFilter:
    """Query arguments → a filter; unknown values are ignored (a stale link shows everything)."""
    level = args.get("level") if args.get("level") in (Level.WARD, Level.HOSPITAL) else None
    status = args.get("status") if args.get("status") in (TaskStatus.OPEN, TaskStatus.CLAIMED) else None
    return QueueFilter(ward_id=args.get("ward", type=int), level=level, status=status,
                       overdue=args.get("overdue") == "1")


@dataclass
class Facet:
    value: str
    label: str
    count: int
    selected: bool


def _facets(user: User, now: datetime, flt: QueueFilter) -> dict:
    """Each option's count under the other filters, so a count is what the list shows when chosen."""
    groups = queueing.queue_facets(user, now)

    def total(**fixed):
        f = {**flt.__dict__, **fixed}
        return sum(n for ward, level, status, overdue, n in groups
                   if (not f["ward_id"] or ward == f["ward_id"]) and (not f["level"] or level == f["level"])
                   and (not f["status"] or status == f["status"]) and (not f["overdue"] or overdue))
    ward_ids = sorted({g[0] for g in groups} | set(getattr(user, "ward_ids", []) or []))
    names = {w.id: w.name for w in db.session.query(Ward).filter(Ward.id.in_(ward_ids))} if ward_ids else {}
    return {
        "ward": [Facet(str(w), names.get(w, ""), total(ward_id=w), flt.ward_id == w) for w in ward_ids],
        "level": [Facet(str(lv), str(lv), total(level=str(lv)), flt.level == lv) for lv in Level],
        "status": [Facet(str(st), str(st), total(status=str(st)), flt.status == st)
                   for st in (TaskStatus.OPEN, TaskStatus.CLAIMED)],
        "overdue": total(overdue=True),
        "all": total(),
    }


def queue_view(user: User, now: datetime, pol: policy.Policy, args) -> dict:
    """Everything the queue page shows, built once per request."""
    flt = parse_filter(args)
    page = max(1, min(args.get("page", 1, type=int), 1000))
    counts = queueing.queue_counts(user, now, pol, flt)
    tasks = queueing.queue_page(user, now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, flt=flt)
    return {"counts": counts, "rows": annotate(user, tasks, now, pol), "page": page,
            "pages": max(1, -(-counts["open"] // PAGE_SIZE)), "alerts": alerts.open_alerts(user),
            "board": may_use_board(user), "hours": policy.hours_now(now, pol), "facets": _facets(user, now, flt),
            "filter": flt}


def annotate(user: User, tasks: list[FollowupTask], now: datetime, pol: policy.Policy) -> list[dict]:
    """Queue rows (masked) with: when the row can next be dialled, why not now, who holds the patient."""
    holders = queueing.patient_holders(user, tasks, now, pol)
    rows = queue_rows(tasks, now, pol.at_risk)
    for row, task in zip(rows, tasks):
        row["callable_at"] = policy.callable_at(task, now, pol)
        row["why_not"] = policy.why_not_now(task, now, pol)
        row["held_by"] = holders.get(task.discharge.patient_id)
    return rows
