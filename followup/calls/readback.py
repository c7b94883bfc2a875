"""A discharge's calls read back: every task (mandatory, plan, review reminder), every dial and
every saved form, as plain data for the discharge page and the API. Scope: a viewer sees the
dials and forms of the tasks in her task scope (access.task_filter) and only the status of the
others; opinions verbatim only for those who may read them (access.may_read_call_words)."""
from datetime import timedelta

from sqlalchemy import select

from ..core.access import may_read_call_words, task_filter
from ..core.clock import local
from ..extensions import db
from ..models import Discharge, FollowupTask, User, Ward
from ..models.call import GUIDANCE_AREAS, SATISFACTION_DIMENSIONS, CallAttempt, HospitalFollowup, Respondent, WardFollowup
from ..models.opinion import Opinion
from ..models.plan import FollowupPlan, PlanRecord
from ..models.task import TaskKind

_KIND_ORDER = {TaskKind.MANDATORY: 0, TaskKind.PLAN: 1, TaskKind.REVIEW: 2}


def _t(dt):
    return local(dt).isoformat(timespec="minutes") if dt else None


def discharge_calls(viewer: User, discharge: Discharge) -> list[dict]:
    tasks = db.session.scalars(select(FollowupTask).where(FollowupTask.discharge_id == discharge.id)).all()
    tasks = sorted(tasks, key=lambda t: (_KIND_ORDER.get(t.kind, 9), t.level != "ward", t.plan_id or 0,
                                         t.plan_day or 0, t.id))
    ids = [t.id for t in tasks]
    visible = set(db.session.scalars(select(FollowupTask.id).where(FollowupTask.id.in_(ids), task_filter(viewer))))
    attempts = db.session.scalars(select(CallAttempt).where(CallAttempt.task_id.in_(visible))
                                  .order_by(CallAttempt.at, CallAttempt.id)).all()
    records = {r.task_id: r for model in (WardFollowup, HospitalFollowup, PlanRecord)
               for r in db.session.scalars(select(model).where(model.task_id.in_(visible)))}
    opinions = db.session.scalars(select(Opinion).where(Opinion.task_id.in_(visible))
                                  .order_by(Opinion.recorded_at, Opinion.id)).all()
    plans = {p.id: p for p in db.session.scalars(select(FollowupPlan).where(
        FollowupPlan.id.in_({t.plan_id for t in tasks if t.plan_id})))}
    user_ids = {a.caller_id for a in attempts} | {r.recorded_by_id for r in records.values()}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    wards = dict(db.session.execute(select(Ward.id, Ward.name).where(Ward.hospital_id == discharge.hospital_id)).all())
    words = may_read_call_words(viewer)
    out = []
    for t in tasks:
        entry = {"id": t.id, "kind": t.kind, "level": t.level, "status": t.status, "close_reason": t.close_reason,
                 "last_day": local(t.due_at - timedelta(microseconds=1)).date().isoformat(),
                 "completed_at": _t(t.completed_at), "detail": t.id in visible,
                 "plan": ({"id": t.plan_id, "name": plans[t.plan_id].name, "day": t.plan_day}
                          if t.plan_id in plans else None)}
        if t.kind == TaskKind.REVIEW:  # due at the midnight that starts the visit day
            entry["review_date"] = local(t.due_at).date().isoformat()
        if entry["detail"]:
            entry["attempts"] = [{"at": _t(a.at), "caller": names.get(a.caller_id, ""), "outcome": a.outcome,
                                  "number_index": a.number_index, "callback_at": _t(a.callback_at), "note": a.note}
                                 for a in attempts if a.task_id == t.id]
            rec = records.get(t.id)
            entry["record"] = _record(rec, names, plans.get(t.plan_id)) if rec else None
            said = [o for o in opinions if o.task_id == t.id]
            entry["opinions"] = [{"text": o.text if words else None, "sentiment": o.sentiment,
                                  "category": o.category, "ward": wards.get(o.ward_id, "")} for o in said]
            entry["opinions_hidden"] = bool(said) and not words
        out.append(entry)
    return out


def _record(rec, names: dict, plan) -> dict:
    out = {"recorded_at": _t(rec.recorded_at), "recorded_by": names.get(rec.recorded_by_id, ""),
           "respondent": rec.respondent, "respondent_relation": rec.respondent_relation,
           "duration_seconds": rec.duration_seconds, "duration_source": rec.duration_source, "notes": rec.notes}
    if isinstance(rec, WardFollowup):
        out.update(type="ward", condition=rec.condition, medication_adherence=rec.medication_adherence,
                   guidance={a: rec.guidance.get(a) or {"given": False, "choices": [], "text": ""}
                             for a in GUIDANCE_AREAS},
                   next_visit_date=rec.next_visit_date.isoformat() if rec.next_visit_date else None,
                   red_flag=rec.red_flag, red_flag_note=rec.red_flag_note)
    elif isinstance(rec, HospitalFollowup):
        out.update(type="hospital", satisfaction={d: getattr(rec, f"sat_{d}") for d in SATISFACTION_DIMENSIONS},
                   complaint=rec.complaint, praise=rec.praise,
                   counts_in_satisfaction=rec.respondent == Respondent.PATIENT)
    else:
        out.update(type="plan", fields=list(plan.fields) if plan else [], answers=rec.answers,
                   next_visit_date=rec.next_visit_date.isoformat() if rec.next_visit_date else None)
    return out


def labels() -> dict:
    """What the read-back template needs to show codes as words."""
    from ..plans import library
    from . import vocabulary as v
    return {"outcome_labels": v.OUTCOME_LABELS, "close_reason_labels": v.CLOSE_REASON_LABELS,
            "condition_labels": v.CONDITION_LABELS, "guidance_labels": v.GUIDANCE_LABELS,
            "guidance_choices": v.GUIDANCE_CHOICES, "satisfaction_labels": v.SATISFACTION_LABELS,
            "score_labels": v.SCORE_LABELS, "sentiment_labels": v.SENTIMENT_LABELS,
            "category_labels": v.CATEGORY_LABELS, "respondent_labels": v.RESPONDENT_LABELS,
            "duration_source_labels": v.DURATION_SOURCE_LABELS, "plan_field_labels": library.FIELDS,
            "symptom_labels": library.SYMPTOMS, "wound_labels": library.WOUND_STATES, "vitals": library.VITALS}


def discharge_page(viewer: User, discharge: Discharge) -> dict:
    """Everything the discharge page shows besides the discharge itself."""
    return {"calls": discharge_calls(viewer, discharge), **labels()}
