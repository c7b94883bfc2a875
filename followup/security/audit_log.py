"""The audit administrator's search of the audit log: filters, a page of events, the CSV export.
Every search and export is itself audited. Flushes, never commits."""
import json
from datetime import timedelta

from sqlalchemy import func, select

from ..core import audit
from ..core.clock import local_midnight
from ..extensions import db
from ..models import AuditEvent

PAGE_SIZE = 50
EXPORT_CAP = 50_000
CSV_HEADER = ["id", "at (UTC)", "username", "action", "object_type", "object_id", "ip", "detail", "hash"]


def search_query(f: dict):
    """The filtered SELECT, newest first. Action matches a prefix ("auth." finds all sign-ins)."""
    q = select(AuditEvent)
    if f["user"]:
        q = q.where(AuditEvent.username == f["user"])
    if f["action"]:
        q = q.where(AuditEvent.action.startswith(f["action"], autoescape=True))
    if f["object_type"]:
        q = q.where(AuditEvent.object_type == f["object_type"])
    if f["object_id"] is not None:
        q = q.where(AuditEvent.object_id == f["object_id"])
    if f["date_from"]:
        q = q.where(AuditEvent.at >= local_midnight(f["date_from"]))
    if f["date_to"]:
        q = q.where(AuditEvent.at < local_midnight(f["date_to"] + timedelta(days=1)))
    return q.order_by(AuditEvent.id.desc())


def search_page(f: dict, shown: dict) -> dict:
    """One page of matching events and the page count; `shown` is the filters as the user gave them."""
    q = search_query(f)
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = db.session.scalars(q.limit(PAGE_SIZE).offset((f["page"] - 1) * PAGE_SIZE)).all()
    audit.record("audit.search", object_type="audit_event", detail={"filters": shown, "page": f["page"]})
    return {"rows": rows, "total": total, "page": f["page"], "pages": max(1, -(-total // PAGE_SIZE))}


def export_rows(f: dict, shown: dict) -> list[list]:
    """The matching events (at most EXPORT_CAP) as CSV rows under CSV_HEADER."""
    events = db.session.scalars(search_query(f).limit(EXPORT_CAP)).all()
    audit.record("audit.export", object_type="audit_event", detail={"filters": shown, "rows": len(events)})
    return [[e.id, e.at, e.username, e.action, e.object_type, e.object_id, e.ip,
             json.dumps(e.detail, ensure_ascii=False, sort_keys=True), e.hash] for e in events]
