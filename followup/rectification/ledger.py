"""The rectification ledger (整改台账): problems stay open until QA verifies and strikes them off,
and QA's reclassification of opinions.

The state machine:  open --respond--> responded --close--> closed
                                      responded --send_back--> open
                    open|responded --reassign--> open (another department or due date)
Operations check the transition, flush and log but never commit; every step appends a
RectificationEvent. Overdue = not closed and past its due date (local calendar)."""
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select

from flask_babel import lazy_gettext as _l

from ..core import audit
from ..core.clock import local_date
from ..extensions import db
from ..models import Ward
from ..models.opinion import Category, ItemStatus, Opinion, RectificationEvent, RectificationItem, Sentiment
from . import departments

# Days a department has to answer a complaint before the item counts as overdue, unless the
# hospital set its own days for the category (departments.due_days).
DEFAULT_DUE_DAYS = departments.DEFAULT_DUE_DAYS


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
        due_date=due or local_date(now) + timedelta(days=departments.due_days(opinion.hospital_id, opinion.category)),
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


class LedgerError(ValueError):
    """A step the item's state does not allow (e.g. closing an item nobody answered)."""


def _require(item: RectificationItem, *allowed: ItemStatus, step: str) -> None:
    if item.status not in allowed:
        raise LedgerError(f"item {item.id}: cannot {step} an item that is {item.status}")


def respond(item: RectificationItem, *, user, cause: str, measures: str, now: datetime) -> None:
    """The department's answer: the cause found and the measures taken."""
    _require(item, ItemStatus.OPEN, step="respond to")
    if not cause.strip() or not measures.strip():
        raise LedgerError(f"item {item.id}: cause and measures are both required")
    item.cause, item.measures, item.status = cause.strip(), measures.strip(), ItemStatus.RESPONDED
    _step(item, user, "responded", now, data={"cause": item.cause, "measures": item.measures})


def close(item: RectificationItem, *, user, now: datetime, note: str = "") -> None:
    """Verified and struck off the ledger (销号): by QA, or for a commission finding by the
    commission that raised it only. An intake item needs its evidence and reply first."""
    _require(item, ItemStatus.RESPONDED, step="close")
    if not may_close(item, user):
        raise LedgerError(_l("Only the commission that raised this finding strikes it off."))
    problems = closing_problems(item)
    if problems:
        raise LedgerError(_l("Before closing: %(what)s.", what=_Joined(problems)))
    item.status, item.closed_at = ItemStatus.CLOSED, now
    _step(item, user, "closed", now, note=note)


class _Joined:
    """Lazy messages joined only when shown (in the request that shows them)."""

    def __init__(self, parts):
        self.parts = parts

    def __str__(self):
        return "; ".join(str(p) for p in self.parts)


def may_close(item: RectificationItem, user) -> bool:
    """QA closes its hospital's items; a commission finding only its region's auditors."""
    region = item.case.commission_region_id if item.case is not None else None
    if region is None:
        return getattr(user, "role", None) == "qa"
    return getattr(user, "role", None) in ("county_auditor", "city_auditor") and user.region_id == region


def closing_problems(item: RectificationItem) -> list:
    """What an intake item or finding still needs before it may be struck off: evidence (text
    or a file), and for a patient's complaint the reply to the patient (回复患者)."""
    case = item.case
    if case is None:
        return []
    problems = []
    if (case.channel or case.commission_region_id) and not (case.evidence_text or item.evidence):
        problems.append(_l("attach the evidence (text or a file)"))
    if case.channel and case.responsible_id is None:
        problems.append(_l("name the responsible person"))
    if case.channel and case.reply_at is None:
        problems.append(_l("record the reply to the patient"))
    return problems


def send_back(item: RectificationItem, *, user, now: datetime, note: str) -> None:
    """The answer does not satisfy QA (or the commission, for its findings): back to the
    department, with the reason."""
    _require(item, ItemStatus.RESPONDED, step="send back")
    if not may_close(item, user):
        raise LedgerError(_l("Only the commission that raised this finding strikes it off."))
    if not note.strip():
        raise LedgerError(f"item {item.id}: say why the answer is sent back")
    item.status = ItemStatus.OPEN
    _step(item, user, "returned", now, note=note.strip())


def reassign(item: RectificationItem, *, user, now: datetime, ward: Ward | None = None,
             due: date | None = None, note: str = "") -> None:
    """Another department and/or another due date; the item goes back to open."""
    _require(item, ItemStatus.OPEN, ItemStatus.RESPONDED, step="reassign")
    if ward is not None and ward.hospital_id != item.hospital_id:
        raise LedgerError(f"item {item.id}: department {ward.id} is not in the item's hospital")
    data = {"from_ward_id": item.ward_id, "from_due": item.due_date.isoformat()}
    if ward is not None:
        item.ward_id = ward.id
    if due is not None:
        item.due_date = due
    item.status = ItemStatus.OPEN
    data.update(ward_id=item.ward_id, due=item.due_date.isoformat())
    _step(item, user, "assigned", now, note=note, data=data)


def _step(item, user, action, now, note="", data=None):
    db.session.flush()  # the version check happens here: a concurrent step fails, not merges
    add_event(item, user=user, action=action, now=now, note=note, data=data)
    audit.record(f"ledger.{action}", user=user, object_type="rectification_item", object_id=item.id, now=now)


def is_overdue(item: RectificationItem, as_of: date) -> bool:
    return item.status != ItemStatus.CLOSED and item.due_date < as_of


def open_as_of(at: datetime):
    """WHERE clause: items already created at `at` and not closed by then. Open items carry
    over from month to month until they are closed."""
    return (RectificationItem.created_at < at) & or_(
        RectificationItem.closed_at.is_(None), RectificationItem.closed_at >= at)


# The status an item is in after each kind of step (the history replays to any moment).
STATUS_AFTER = {"created": ItemStatus.OPEN, "assigned": ItemStatus.OPEN, "returned": ItemStatus.OPEN,
                "responded": ItemStatus.RESPONDED, "closed": ItemStatus.CLOSED}


def status_as_of(item_ids: list[int], at: datetime) -> dict[int, str]:
    """{item id: status at `at`}, replayed from the history (for month-end views)."""
    out: dict[int, str] = {}
    for chunk in (item_ids[i:i + 500] for i in range(0, len(item_ids), 500)):
        rows = db.session.execute(
            select(RectificationEvent.item_id, RectificationEvent.action)
            .where(RectificationEvent.item_id.in_(chunk), RectificationEvent.at < at)
            .order_by(RectificationEvent.item_id, RectificationEvent.at, RectificationEvent.id))
        for item_id, action in rows:
            if action in STATUS_AFTER:
                out[item_id] = STATUS_AFTER[action].value
    return out


def reclassify(opinion: Opinion, *, user, now: datetime, category: str | None = None,
               sentiment: str | None = None, ward: Ward | None = None) -> None:
    """QA's classification of what the patient said. The text is never touched, and the
    recorder's classification stays in the original_* columns."""
    if category is not None:
        opinion.category = Category(category).value
    if sentiment is not None:
        opinion.sentiment = Sentiment(sentiment).value
    if ward is not None:
        if ward.hospital_id != opinion.hospital_id:
            raise LedgerError(f"opinion {opinion.id}: department {ward.id} is not in its hospital")
        opinion.ward_id = ward.id
    opinion.reclassified_by_id, opinion.reclassified_at = getattr(user, "id", None), now
    db.session.flush()
    audit.record("opinion.reclassify", user=user, object_type="opinion", object_id=opinion.id,
                 detail={"category": opinion.category, "sentiment": opinion.sentiment,
                         "ward_id": opinion.ward_id}, now=now)


def page(user, args: dict, *, today: date, page_size: int) -> dict:
    """The ledger list a user may see, filtered (status, ward, overdue) and paged, with the
    counts of its tiles (open, overdue, awaiting verification) over everything in scope."""
    from sqlalchemy import func
    from ..core.access import ledger_filter
    RI = RectificationItem
    q = select(RI).where(ledger_filter(user))
    if args["status"] == "active":
        q = q.where(RI.status != ItemStatus.CLOSED)
    elif args["status"]:
        q = q.where(RI.status == args["status"])
    if args["ward"]:
        q = q.where(RI.ward_id == args["ward"])
    if args["overdue"]:
        q = q.where(RI.status != ItemStatus.CLOSED, RI.due_date < today)
    counts = db.session.execute(select(
        func.count().filter(RI.status != ItemStatus.CLOSED),
        func.count().filter(RI.status != ItemStatus.CLOSED, RI.due_date < today),
        func.count().filter(RI.status == ItemStatus.RESPONDED)).where(ledger_filter(user))).one()
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.session.scalars(q.order_by(RI.status == ItemStatus.CLOSED, RI.due_date, RI.id)
                              .limit(page_size).offset((args["page"] - 1) * page_size)).all()
    return {"rows": rows, "total": total, "today": today, "counts": counts,
            "pages": max(1, -(-total // page_size))}
