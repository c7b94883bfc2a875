"""QA's review of each sampled call (form complete? guidance matched the diagnosis? opinion
recorded verbatim? a note) and the optional call-back to the patient; the month's results per
caller and per department for the monthly summary. Flushes and audits, never commits."""
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from flask_babel import lazy_gettext as _l

from ..calls.vocabulary import CONDITION_LABELS, GUIDANCE_CHOICES, GUIDANCE_LABELS
from ..core import audit
from ..core.access import mask_name, qc_filter
from ..extensions import db
from ..models import Discharge, FollowupTask, Level, User, Ward
from ..models.call import HospitalFollowup, WardFollowup
from ..models.opinion import Opinion
from ..models.quality import QcPolicy, QcReview, QcSample
from . import sample as S

CALLBACK_OUTCOMES = ("confirmed", "disagreed", "unreachable")
CHECKS = ("form_complete", "guidance_matched", "opinion_verbatim")


class NotFound(LookupError):
    pass


def get_review(user, review_id: int) -> QcReview:
    r = db.session.scalar(select(QcReview).where(QcReview.id == review_id, qc_filter(user)))
    if r is None:
        raise NotFound("review not found")
    return r


def _yes_no(v: str):
    return {"yes": True, "no": False}.get(v)


def save_review(review: QcReview, data: dict, *, user, now: datetime) -> QcReview:
    """Record QA's answers (re-saving replaces them; each save is audited with the answers)."""
    review.form_complete = _yes_no(data["form_complete"])
    review.guidance_matched = _yes_no(data.get("guidance_matched", "")) if review.level == Level.WARD else None
    review.opinion_verbatim = _yes_no(data.get("opinion_verbatim", ""))
    review.note = (data.get("note") or "").strip()
    outcome = data.get("callback_outcome") or None
    if outcome is not None and outcome not in CALLBACK_OUTCOMES:
        raise ValueError(f"unknown call-back outcome {outcome!r}")
    review.callback_outcome, review.callback_note = outcome, (data.get("callback_note") or "").strip()
    review.reviewed_by_id, review.reviewed_at = user.id, now
    db.session.flush()
    audit.record("qc.review", user=user, object_type="qc_review", object_id=review.id, now=now,
                 detail={c: getattr(review, c) for c in CHECKS} | {"callback": outcome})
    return review


def reveal_contact(review: QcReview, *, user, now: datetime) -> list[str]:
    """The patient's numbers for QA's call-back of a sampled call (logged like a caller's reveal)."""
    p = review.task.discharge.patient
    audit.record("pii.reveal_phone", user=user, object_type="discharge", object_id=review.task.discharge_id,
                 detail={"purpose": "qc_callback", "qc_review": review.id}, now=now)
    return [x for x in [p.phone, *(p.other_phones or "").split(",")] if x]


def month_page(user, month: str) -> dict:
    """The QC page of QA's hospital for a month: the sample (if drawn), grouped by caller."""
    sample = db.session.scalar(select(QcSample).where(QcSample.hospital_id == user.hospital_id,
                                                      QcSample.month == month))
    rows = []
    if sample is not None:
        rows = db.session.scalars(select(QcReview).where(QcReview.sample_id == sample.id, qc_filter(user))
                                  .order_by(QcReview.caller_id, QcReview.id)
                                  .options(selectinload(QcReview.task))).all()
    names = _names(User, {r.caller_id for r in rows})
    wards = _names(Ward, {r.ward_id for r in rows})
    callers = defaultdict(list)
    for r in rows:
        callers[r.caller_id].append(r)
    pol = db.session.get(QcPolicy, user.hospital_id)
    return {"sample": sample, "callback_labels": callback_labels(), "rate_percent": pol.rate_percent if pol else S.DEFAULT_RATE_PERCENT, "ward_names": wards,
            "callers": [{"id": c, "name": names.get(c, ""), "reviews": rs,
                         "reviewed": sum(1 for x in rs if x.reviewed_at)} for c, rs in callers.items()],
            "total": len(rows), "reviewed": sum(1 for r in rows if r.reviewed_at),
            "reproducible": S.recompute(sample) if sample is not None else None}


def _names(model, ids) -> dict:
    if not ids:
        return {}
    col = model.display_name if model is User else model.name
    return dict(db.session.execute(select(model.id, col).where(model.id.in_(ids))).all())


def review_page(review: QcReview) -> dict:
    """What QA needs to judge one call: the record as saved, the diagnosis, the opinions verbatim.
    The patient's name is masked; the number only through reveal_contact (logged)."""
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.id == review.task_id)
                             .options(selectinload(FollowupTask.discharge).selectinload(Discharge.patient),
                                      selectinload(FollowupTask.discharge).selectinload(Discharge.ward)))
    model = WardFollowup if review.level == Level.WARD else HospitalFollowup
    record = db.session.scalar(select(model).where(model.task_id == task.id))
    opinions = db.session.scalars(select(Opinion).where(Opinion.task_id == task.id).order_by(Opinion.id)).all()
    d = task.discharge
    return {"review": review, "task": task, "record": record, "opinions": opinions, "discharge": d,
            "patient_name": mask_name(d.patient.name), "phone_masked": d.patient.phone_masked or "",
            "caller": db.session.get(User, review.caller_id).display_name,
            "outcomes": CALLBACK_OUTCOMES, "condition_labels": CONDITION_LABELS,
            "guidance_labels": GUIDANCE_LABELS, "guidance_choices": GUIDANCE_CHOICES, "callback_labels": callback_labels()}


def callback_labels() -> dict:
    return {"confirmed": _l("Reached: confirms the call"), "disagreed": _l("Reached: disagrees with the record"),
            "unreachable": _l("Not reached")}


def _rate(n: int, d: int):
    return (n / d) if d else None


def figures(hospital_id: int, month: str) -> dict:
    """The month's QC results for the monthly summary: per caller and per department, counts
    of sampled and reviewed calls and the share of reviewed calls passing each check (a check
    answered n/a is left out of its share). Caller names are staff, not patients."""
    sample = db.session.scalar(select(QcSample).where(QcSample.hospital_id == hospital_id, QcSample.month == month))
    if sample is None:
        return {"drawn": False, "by_caller": [], "by_ward": []}
    rows = db.session.scalars(select(QcReview).where(QcReview.sample_id == sample.id)).all()
    callers, wards = _names(User, {r.caller_id for r in rows}), _names(Ward, {r.ward_id for r in rows})

    def group(key, names):
        out = defaultdict(list)
        for r in rows:
            out[getattr(r, key)].append(r)
        result = []
        for k, rs in out.items():
            done = [r for r in rs if r.reviewed_at]
            row = {"id": k, "name": names.get(k, ""), "sampled": len(rs), "reviewed": len(done),
                   "callbacks": sum(1 for r in done if r.callback_outcome),
                   "callback_disagreed": sum(1 for r in done if r.callback_outcome == "disagreed")}
            for c in CHECKS:
                answered = [getattr(r, c) for r in done if getattr(r, c) is not None]
                row[c] = _rate(sum(answered), len(answered))
            result.append(row)
        return sorted(result, key=lambda r: r["name"])
    return {"drawn": True, "rate_percent": sample.rate_percent, "sampled": len(rows),
            "reviewed": sum(1 for r in rows if r.reviewed_at),
            "by_caller": group("caller_id", callers), "by_ward": group("ward_id", wards)}
