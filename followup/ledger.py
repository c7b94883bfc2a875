"""The rectification ledger (整改台账): problems stay open until QA verifies and strikes them off.

Operations flush and log but never commit; every step appends a RectificationEvent."""
from datetime import date, datetime, timedelta

from . import audit
from .clock import local_date
from .extensions import db
from .models.opinion import ItemStatus, Opinion, RectificationEvent, RectificationItem, Sentiment

# Days a department has to answer a complaint before the item counts as overdue.
DEFAULT_DUE_DAYS = 15


def open_item_from_opinion(opinion: Opinion, *, user, now: datetime, due: date | None = None,
                           source: str | None = None) -> RectificationItem:
    """Put a problem on the ledger, assigned to the department the opinion concerns.
    A complaint does this automatically when it is recorded; QA can do it for any opinion.
    Idempotent per opinion: the existing item is returned."""
    existing = db.session.query(RectificationItem).filter_by(opinion_id=opinion.id).one_or_none()
    if existing is not None:
        return existing
    item = RectificationItem(
        hospital_id=opinion.hospital_id, ward_id=opinion.ward_id, opinion=opinion,
        source=source or ("complaint" if opinion.sentiment == Sentiment.COMPLAINT else "qa"),
        problem=opinion.text, status=ItemStatus.OPEN,
        due_date=due or local_date(now) + timedelta(days=DEFAULT_DUE_DAYS),
        created_by_id=getattr(user, "id", None), created_at=now)
    db.session.add(item)
    db.session.flush()
    add_event(item, user=user, action="created", now=now)
    audit.record("ledger.create", user=user, object_type="rectification_item", object_id=item.id, now=now)
    return item


def add_event(item: RectificationItem, *, user, action: str, now: datetime, note: str = "",
              data: dict | None = None) -> RectificationEvent:
    ev = RectificationEvent(item_id=item.id, at=now, user_id=getattr(user, "id", None),
                            action=action, note=note, data=data or {})
    db.session.add(ev)
    db.session.flush()
    return ev
