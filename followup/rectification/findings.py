"""Audit findings go back to the hospital (督导反馈问题 限期整改、挂账销号): a verification call the
auditor classifies "suspected false record" or "lost but reachable" (or any the auditor chooses)
opens an item on the hospital's ledger, marked as a commission finding with the commission's
deadline; the hospital answers it like any item; only the commission that raised it strikes it
off (ledger.may_close). What a patient tells an auditor becomes an opinion (source
commission_check) in the hospital's monthly summary."""
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from ..core import audit
from ..core.access import finding_filter
from ..core.clock import local_date
from ..core.labels import stored_text
from ..extensions import db
from ..models import Hospital, Role, User
from ..models.opinion import Category, ItemCase, ItemStatus, Opinion, RectificationItem, Sentiment
from ..models.sample import Classification, SampledRecord
from . import ledger

# Classifications that open a finding by themselves.
AUTO_FINDINGS = {Classification.SUSPECTED_FALSE, Classification.LOST_BUT_REACHABLE}
DEFAULT_DUE_DAYS = 15
FINDING_PROBLEMS = {
    Classification.SUSPECTED_FALSE: _l("Suspected false record: the hospital recorded a follow-up call, the patient says nobody called."),
    Classification.LOST_BUT_REACHABLE: _l("Lost but reachable: the hospital recorded the patient as lost to follow-up, the auditor reached them."),
    "other": _l("Finding from a commission verification call."),
}
AUDIT_SOURCE = "commission_check"
RI = RectificationItem


class FindingError(ValueError):
    pass


def _auditor(user: User) -> bool:
    return user.role_enum in (Role.COUNTY_AUDITOR, Role.CITY_AUDITOR) and user.region_id is not None


def open_finding(record: SampledRecord, *, user: User, now: datetime, due: date | None = None,
                 note: str = "") -> RectificationItem:
    """The finding on the hospital's ledger, assigned to the patient's ward, due when the
    commission says (default 15 days). One per sampled record: a second call returns it."""
    if not _auditor(user):
        raise FindingError(_l("Only an auditor raises a finding."))
    existing = db.session.scalar(select(RI).join(ItemCase, ItemCase.item_id == RI.id)
                                 .where(ItemCase.sampled_record_id == record.id))
    if existing is not None:
        return existing
    due = due or local_date(now) + timedelta(days=DEFAULT_DUE_DAYS)
    if due < local_date(now):
        raise FindingError(_l("The deadline is in the past."))
    # The stored problem is what the hospital reads: the finding in words, then the auditor's note.
    what = FINDING_PROBLEMS.get(record.classification)
    problem = "\n".join(p for p in (stored_text(what) if what is not None else "", note.strip()) if p) or \
        stored_text(FINDING_PROBLEMS["other"])
    item = RI(hospital_id=record.hospital_id, ward_id=record.discharge.ward_id, source="commission",
              problem=problem.strip(), status=ItemStatus.OPEN, due_date=due, created_by_id=user.id, created_at=now)
    db.session.add(item)
    db.session.flush()
    item.case = ItemCase(item_id=item.id, discharge_id=record.discharge_id, commission_region_id=user.region_id,
                         sampled_record_id=record.id)
    ledger.add_event(item, user=user, action="finding", now=now, note=note.strip(),
                     data={"classification": record.classification, "due": due.isoformat()})
    audit.record("finding.open", user=user, object_type="rectification_item", object_id=item.id, now=now,
                 detail={"sampled_record_id": record.id, "classification": record.classification})
    return item


def after_audit_call(record: SampledRecord, *, user: User, now: datetime) -> RectificationItem | None:
    """What an answered verification call sends back: the patient's words as an opinion, and a
    finding when the classification calls for one."""
    if record.opinions and record.opinions.strip():
        opinion_from_audit(record, user=user, now=now)
    if record.classification in AUTO_FINDINGS:
        return open_finding(record, user=user, now=now)
    return None


def opinion_from_audit(record: SampledRecord, *, user: User, now: datetime) -> Opinion:
    """The patient's words to the auditor, verbatim, as the hospital's opinion (QA classifies)."""
    sentiment = Sentiment.COMPLAINT if (record.satisfaction or 5) <= 2 else Sentiment.SUGGESTION
    op = Opinion(hospital_id=record.hospital_id, discharge_id=record.discharge_id, source=AUDIT_SOURCE,
                 text=record.opinions, sentiment=sentiment, category=Category.OTHER,
                 ward_id=record.discharge.ward_id, original_sentiment=sentiment, original_category=Category.OTHER,
                 original_ward_id=record.discharge.ward_id, recorded_by_id=user.id, recorded_at=now)
    db.session.add(op)
    db.session.flush()
    audit.record("opinion.from_audit", user=user, object_type="opinion", object_id=op.id, now=now)
    return op


def status_by_hospital(user: User, now: datetime) -> list[dict]:
    """Per hospital: the commission's findings open, answered, overdue and closed."""
    today = local_date(now)
    rows = db.session.execute(
        select(Hospital.id, Hospital.name,
               func.count().filter(RI.status == ItemStatus.OPEN).label("open"),
               func.count().filter(RI.status == ItemStatus.RESPONDED).label("responded"),
               func.count().filter(RI.status != ItemStatus.CLOSED, RI.due_date < today).label("overdue"),
               func.count().filter(RI.status == ItemStatus.CLOSED).label("closed"))
        .join(RI, RI.hospital_id == Hospital.id).where(finding_filter(user))
        .group_by(Hospital.id, Hospital.name).order_by(Hospital.name)).mappings()
    return [dict(r) for r in rows]


def findings(user: User, *, hospital_id: int | None = None, limit: int = 200) -> list[RectificationItem]:
    q = select(RI).where(finding_filter(user))
    if hospital_id:
        q = q.where(RI.hospital_id == hospital_id)
    return list(db.session.scalars(q.order_by(case((RI.status == ItemStatus.CLOSED, 1), else_=0),
                                              RI.due_date, RI.id).limit(limit)))


def set_deadline(item: RectificationItem, due: date, *, user: User, now: datetime, note: str = "") -> None:
    """The commission moves its finding's deadline (recorded like any reassignment)."""
    if not ledger.may_close(item, user):
        raise FindingError(_l("Only the commission that raised this finding strikes it off."))
    ledger.reassign(item, user=user, now=now, due=due, note=note)


def finding_for_record(record_id: int) -> RectificationItem | None:
    return db.session.scalar(select(RI).join(ItemCase, ItemCase.item_id == RI.id)
                             .where(ItemCase.sampled_record_id == record_id))


def index_page(user: User, hospital_id: int | None, now: datetime) -> dict:
    from ..core.labels import FINDING_STATUS_LABELS
    rows = findings(user, hospital_id=hospital_id)
    names = dict(db.session.execute(select(Hospital.id, Hospital.name).where(
        Hospital.id.in_({r.hospital_id for r in rows} or {-1}))).all())
    return {"by_hospital": status_by_hospital(user, now), "rows": rows, "hospital_names": names,
            "hospital_id": hospital_id, "today": local_date(now), "labels": FINDING_STATUS_LABELS}


def show_page(item: RectificationItem, user: User, now: datetime) -> dict:
    """A finding as the commission sees it: the problem, the hospital's answer, evidence, history
    (no patient's name: the record is in the commission's own sample)."""
    from ..core.labels import EVENT_LABELS, FINDING_STATUS_LABELS
    from ..models import Ward
    users = {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_({e.user_id for e in item.events} - {None} or {-1})))}
    ward = db.session.get(Ward, item.ward_id) if item.ward_id else None
    return {"item": item, "case": item.case, "events": item.events, "users": users, "ward": ward,
            "hospital": db.session.get(Hospital, item.hospital_id), "today": local_date(now),
            "record": db.session.get(SampledRecord, item.case.sampled_record_id) if item.case and item.case.sampled_record_id else None,
            "labels": FINDING_STATUS_LABELS, "event_labels": EVENT_LABELS, "evidence_files": item.evidence,
            "can_close": ledger.may_close(item, user), "closing_problems": ledger.closing_problems(item)}
