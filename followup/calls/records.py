"""Saving the two follow-up forms: ward level (科室随访) and hospital level (院级随访).

One path for both: validate everything first (nothing is written when anything is wrong), then
write the record, the patient's opinions (each complaint onto the rectification ledger), a
red-flag alert when the ward form raises one, and complete the task; all in the caller's
transaction (flushes, never commits), so a failure anywhere leaves nothing half-saved."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..rectification import complaints, departments, ledger
from ..core import audit
from ..core.clock import local_date
from ..extensions import db
from ..models import FollowupTask, Level, Ward
from ..models.alert import RedFlagAlert
from ..models.call import CallAttempt, HospitalFollowup, Outcome, WardFollowup
from ..models.opinion import Opinion, Sentiment
from ..models.plan import PlanRecord
from ..models.task import TaskKind
from ..plans import tasks as plan_tasks
from ..plans.library import plan_form
from ..schemas.followup_forms import HospitalFollowupForm, WardFollowupForm
from . import queueing


@dataclass(frozen=True)
class _Kind:
    level: Level
    form: type
    model: type
    source: str  # Opinion.source


_KINDS = {Level.WARD: _Kind(Level.WARD, WardFollowupForm, WardFollowup, "ward_call"),
          Level.HOSPITAL: _Kind(Level.HOSPITAL, HospitalFollowupForm, HospitalFollowup, "hospital_call")}


def department_ids(hospital_id: int) -> list[int]:
    return list(db.session.scalars(select(Ward.id).where(Ward.hospital_id == hospital_id)))


def form_for(task: FollowupTask, now: datetime):
    """The schema that validates this task's form, bound to the facts of the call."""
    if task.kind != TaskKind.MANDATORY:
        return plan_form(plan_fields(task), medicines=task.discharge.medicine_list, today=local_date(now))
    kind = _KINDS[Level(task.level)]
    extra = {"medicines": task.discharge.medicine_list, "today": local_date(now)} if kind.level == Level.WARD else {}
    return kind.form(department_ids=department_ids(task.hospital_id), **extra)


def save_ward_followup(user, task: FollowupTask, data: dict, now: datetime) -> WardFollowup:
    return _save(_KINDS[Level.WARD], user, task, data, now)


def save_hospital_followup(user, task: FollowupTask, data: dict, now: datetime) -> HospitalFollowup:
    return _save(_KINDS[Level.HOSPITAL], user, task, data, now)


def save_followup(user, task: FollowupTask, data: dict, now: datetime):
    """The task's form: a plan's own form for plan and review tasks, else by the task's level
    (what the call screen posts)."""
    if task.kind != TaskKind.MANDATORY:
        return save_plan_record(user, task, data, now)
    return _save(_KINDS[Level(task.level)], user, task, data, now)


def plan_fields(task: FollowupTask) -> list[str]:
    """The library fields of a plan task's form; a review reminder asks only who answered."""
    return list(task.plan.fields) if task.kind == TaskKind.PLAN and task.plan else []


def save_plan_record(user, task: FollowupTask, data: dict, now: datetime) -> PlanRecord:
    """A plan call's (or review reminder's) record: the plan's fields as answered."""
    if task.kind == TaskKind.MANDATORY:
        raise ValueError(f"task {task.id} is a mandatory task")
    clean = form_for(task, now).load(data)  # raises marshmallow.ValidationError; nothing written yet
    attempt = _answered_attempt(user, task, now)
    facts = {k: clean.pop(k) for k in ("respondent", "respondent_relation", "duration_seconds", "duration_source")}
    notes, visit = clean.pop("notes"), clean.pop("next_visit_date", None)
    record = PlanRecord(task_id=task.id, attempt_id=attempt.id, recorded_by_id=user.id, recorded_at=now,
                        answers=clean, next_visit_date=visit, notes=notes, **facts)
    db.session.add(record)
    audit.record("followup.plan_record", user=user, object_type="followup_task", object_id=task.id, now=now)
    queueing.complete_task(user, task, now)
    if visit:
        plan_tasks.review_reminder(task.discharge, visit, now)
    db.session.flush()
    return record


def _save(kind: _Kind, user, task: FollowupTask, data: dict, now: datetime):
    if task.level != kind.level:
        raise ValueError(f"task {task.id} is {task.level}-level, not {kind.level}-level")
    clean = form_for(task, now).load(data)  # raises marshmallow.ValidationError; nothing written yet
    attempt = _answered_attempt(user, task, now)
    opinions = clean.pop("opinions")
    record = kind.model(task_id=task.id, attempt_id=attempt.id, recorded_by_id=user.id, recorded_at=now, **_columns(kind, clean, opinions))
    db.session.add(record)
    db.session.flush()
    for op in opinions:
        _add_opinion(kind, user, task, op, now)
    if kind.level == Level.WARD and record.red_flag:
        db.session.add(RedFlagAlert(hospital_id=task.hospital_id, ward_id=task.ward_id, task_id=task.id,
                                    followup_id=record.id, doctor=task.discharge.attending_doctor,
                                    note=record.red_flag_note, raised_by_id=user.id, raised_at=now))
    if kind.level == Level.HOSPITAL:
        complaints.open_for_poor_rating(record, user=user, now=now)  # 好差评: a 1–2 opens an item
    audit.record(f"followup.{kind.level}_record", user=user, object_type="followup_task", object_id=task.id, now=now)
    queueing.complete_task(user, task, now)
    if getattr(record, "next_visit_date", None):
        plan_tasks.review_reminder(task.discharge, record.next_visit_date, now)
    db.session.flush()
    return record


def _columns(kind: _Kind, clean: dict, opinions: list[dict]) -> dict:
    if kind.level == Level.WARD:
        return clean
    sentiments = {op["sentiment"] for op in opinions}
    return {**clean, "complaint": Sentiment.COMPLAINT in sentiments, "praise": Sentiment.PRAISE in sentiments}


def _answered_attempt(user, task: FollowupTask, now: datetime) -> CallAttempt:
    """The dial the form records. A nurse who got through may go straight to the form: the
    answered attempt is then recorded for her (through the queue's own rules)."""
    attempt = db.session.scalar(select(CallAttempt).where(
        CallAttempt.task_id == task.id, CallAttempt.outcome == Outcome.ANSWERED).order_by(CallAttempt.at.desc()).limit(1))
    return attempt or queueing.record_attempt(user, task, Outcome.ANSWERED, now)


def _add_opinion(kind: _Kind, user, task: FollowupTask, op: dict, now: datetime) -> Opinion:
    """The patient's words are stored exactly as typed; a complaint opens a ledger item."""
    # No department named: the one the category suggests (费用收费 → 收费处), if the hospital has it.
    ward_id = op["ward_id"] or departments.suggest_department(task.hospital_id, op["category"])
    opinion = Opinion(hospital_id=task.hospital_id, discharge_id=task.discharge_id, task_id=task.id,
                      source=kind.source, text=op["text"], sentiment=op["sentiment"], category=op["category"],
                      ward_id=ward_id, original_sentiment=op["sentiment"], original_category=op["category"],
                      original_ward_id=ward_id, recorded_by_id=user.id, recorded_at=now)
    db.session.add(opinion)
    db.session.flush()
    if opinion.sentiment == Sentiment.COMPLAINT:
        ledger.open_item_from_opinion(opinion, user=user, now=now)
    return opinion
