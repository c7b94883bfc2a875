"""Each department's monthly feedback (每月…反馈给职能和业务科室): its rates and satisfaction (clinical
wards), every opinion about it verbatim, its open ledger items with their deadlines. The monthly
job makes it ready for every department (the notice); the department head acknowledges it."""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import false, select

from ..core import audit
from ..core.clock import local, local_date, month_bounds
from ..extensions import db
from ..models import Hospital, Role, User, Ward
from ..models.department import DepartmentFeedback
from ..models.opinion import ItemStatus, Opinion, RectificationItem
from ..models.org import WardKind
from ..reports import monthly
from ..reports import rates as R
from ..reports.exports import rate_cells, rate_headers
from ..reports.spreadsheet import Sheet, to_xlsx


def feedback_filter(user: User):
    """DepartmentFeedback rows: a department head its own departments'; QA its hospital's."""
    role = user.role_enum
    if role == Role.DEPT_RESPONDER and user.ward_ids:
        return (DepartmentFeedback.hospital_id == user.hospital_id) & DepartmentFeedback.ward_id.in_(user.ward_ids)
    if role == Role.QA:
        return DepartmentFeedback.hospital_id == user.hospital_id
    return false()


def publish_month(hospital_id: int, month: str, *, now: datetime) -> int:
    """Make `month`'s feedback ready for every department of the hospital (idempotent: a re-run
    adds only departments that had none). Returns how many notices were made."""
    monthly.parse_month(month)
    have = set(db.session.scalars(select(DepartmentFeedback.ward_id).where(
        DepartmentFeedback.hospital_id == hospital_id, DepartmentFeedback.month == month)))
    made = 0
    for wid in db.session.scalars(select(Ward.id).where(Ward.hospital_id == hospital_id).order_by(Ward.id)):
        if wid not in have:
            db.session.add(DepartmentFeedback(hospital_id=hospital_id, ward_id=wid, month=month, ready_at=now))
            made += 1
    db.session.flush()
    return made


def notices(user: User, limit: int = 24) -> list[DepartmentFeedback]:
    """Feedback the user may read, newest month first (unacknowledged ones are the notices)."""
    return list(db.session.scalars(select(DepartmentFeedback).where(feedback_filter(user))
                                   .order_by(DepartmentFeedback.month.desc(), DepartmentFeedback.ward_id)
                                   .limit(limit)))


def acknowledge(fb: DepartmentFeedback, *, user: User, now: datetime) -> None:
    """The department head has read it (recorded once; audited)."""
    if user.role_enum != Role.DEPT_RESPONDER or fb.ward_id not in user.ward_ids:
        raise PermissionError("only the department's head acknowledges its feedback")
    if fb.acknowledged_at is None:
        fb.acknowledged_by_id, fb.acknowledged_at = user.id, now
        db.session.flush()
        audit.record("feedback.acknowledge", user=user, object_type="department_feedback", object_id=fb.id, now=now)


def page(fb: DepartmentFeedback, *, now: datetime) -> dict:
    """Everything the department's page (and its export) shows for the month."""
    ward = fb.ward
    y, m = monthly.parse_month(fb.month)
    start_dt, end_dt = month_bounds(y, m)
    start, end = monthly.date_bounds(fb.month)
    one = select(Hospital.id).where(Hospital.id == ward.hospital_id)  # the rates take a SELECT of ids
    clinical = ward.kind == WardKind.CLINICAL
    rates = R.rates(one, start, end, "ward", now=now).get(ward.id) if clinical else None
    sat = R.satisfaction(one, start_dt, end_dt, "ward").get(ward.id) if clinical else None
    opinions = db.session.scalars(select(Opinion).where(
        Opinion.ward_id == ward.id, Opinion.recorded_at >= start_dt, Opinion.recorded_at < end_dt)
        .order_by(Opinion.recorded_at, Opinion.id)).all()
    RI = RectificationItem
    items = db.session.scalars(select(RI).where(RI.ward_id == ward.id, RI.status != ItemStatus.CLOSED)
                               .order_by(RI.due_date, RI.id)).all()
    today = local_date(now)
    return {
        "feedback": fb, "ward": ward, "month": fb.month, "clinical": clinical, "rates": rates, "satisfaction": sat,
        "opinions": [{"at": local(o.recorded_at).strftime("%Y-%m-%d %H:%M"), "source": o.source,
                      "sentiment": o.sentiment, "category": o.category, "text": o.text} for o in opinions],
        "items": [{"id": it.id, "problem": it.problem, "status": it.status, "due_date": it.due_date,
                   "overdue": it.due_date < today, "source": it.source} for it in items],
    }


def export_xlsx(data: dict) -> bytes:
    """The page as a workbook: rates, opinions verbatim, open items."""
    from ..core.labels import CATEGORY_LABELS, ITEM_STATUS_LABELS, SENTIMENT_LABELS
    from ..models.call import SATISFACTION_DIMENSIONS
    sheets = []
    if data["rates"]:
        sheets.append(Sheet(_("Rates"), rate_headers(), [rate_cells(data["rates"])]))
    if data["satisfaction"]:
        sat = data["satisfaction"]
        sheets.append(Sheet(_("Satisfaction"), [_("Records"), *SATISFACTION_DIMENSIONS],
                            [[sat["n"], *[None if sat[d] is None else round(sat[d], 2) for d in SATISFACTION_DIMENSIONS]]]))
    sheets.append(Sheet(_("Opinions"), [_("Recorded at"), _("Source"), _("Type"), _("Category"), _("What the patient said")],
                        [[o["at"], o["source"], str(SENTIMENT_LABELS.get(o["sentiment"], o["sentiment"])),
                          str(CATEGORY_LABELS.get(o["category"], o["category"])), o["text"]] for o in data["opinions"]],
                        widths=[18, 16, 10, 16, 80]))
    sheets.append(Sheet(_("Open items"), [_("No."), _("Problem"), _("Status"), _("Due"), _("Overdue")],
                        [[i["id"], i["problem"], str(ITEM_STATUS_LABELS.get(i["status"], i["status"])), i["due_date"],
                          _("Yes") if i["overdue"] else ""] for i in data["items"]],
                        widths=[8, 80, 14, 12, 8]))
    return to_xlsx(sheets)



def template_labels() -> dict:
    from ..core.labels import (CATEGORY_LABELS, ITEM_STATUS_LABELS, OPINION_SOURCE_LABELS, SATISFACTION_LABELS,
                               SENTIMENT_LABELS, SOURCE_LABELS)
    from ..models.call import SATISFACTION_DIMENSIONS
    return {"category_labels": CATEGORY_LABELS, "sentiment_labels": SENTIMENT_LABELS, "status_labels": ITEM_STATUS_LABELS,
            "sat_labels": SATISFACTION_LABELS, "dims": SATISFACTION_DIMENSIONS, "source_labels": SOURCE_LABELS,
            "opinion_source_labels": OPINION_SOURCE_LABELS}
