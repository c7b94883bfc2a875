"""The auditor's calls to sampled patients: each dial, the patient's answers, and the
comparison with the hospital's own record. Flushes, never commits."""
from datetime import datetime

from sqlalchemy import func, select

from ..core import audit
from ..extensions import db
from ..models import FollowupTask, Level
from ..models.task import TaskKind
from ..models.call import HospitalFollowup, Outcome
from ..models.sample import SampleCallAttempt, SampledRecord
from .algorithm import N_, SamplingError
from .discrepancy import AuditorCall, HospitalRecord, classify, combine_statuses

# An auditor may give a patient up as unreachable only after this many unanswered dials.
MIN_ATTEMPTS_BEFORE_UNREACHABLE = 3


class CallError(SamplingError):
    pass


def hospital_record(discharge_id: int) -> HospitalRecord:
    """What the hospital has on file for this discharge now."""
    tasks = db.session.execute(select(FollowupTask.status, FollowupTask.completed_at, FollowupTask.level)
                               .where(FollowupTask.discharge_id == discharge_id,
                                      FollowupTask.kind == TaskKind.MANDATORY)).all()
    status = combine_statuses([t.status for t in tasks])
    done = [t.completed_at for t in tasks if t.status == status and t.completed_at]
    sat = db.session.scalar(select(HospitalFollowup.sat_overall).join(FollowupTask).where(
        FollowupTask.discharge_id == discharge_id, FollowupTask.level == Level.HOSPITAL,
        FollowupTask.kind == TaskKind.MANDATORY))
    return HospitalRecord(status=status, completed_at=min(done) if done else None, satisfaction=sat)


def failed_attempts(record: SampledRecord) -> int:
    return db.session.scalar(select(func.count()).select_from(SampleCallAttempt).where(
        SampleCallAttempt.record_id == record.id, SampleCallAttempt.outcome != Outcome.ANSWERED)) or 0


def record_attempt(record: SampledRecord, data: dict, *, user, now: datetime) -> SampleCallAttempt:
    """Log a dial; an answered dial also records the patient's answers and classifies them."""
    if record.reached is not None:
        raise CallError(N_("this patient's result is already recorded"))
    answered = data["outcome"] == Outcome.ANSWERED
    if answered and not data.get("hospital_called"):
        raise CallError(N_("say whether the hospital called the patient (yes / no / not sure)"),
                        "hospital_called")
    attempt = SampleCallAttempt(record_id=record.id, caller_id=user.id, at=now,
                                outcome=data["outcome"], note=data.get("note", ""))
    db.session.add(attempt)
    if answered:
        record.medication_guidance = data.get("medication_guidance")
        record.rehab_guidance = data.get("rehab_guidance")
        record.satisfaction = data.get("satisfaction")
        record.opinions = data.get("opinions") or None
        _conclude(record, True, data["hospital_called"], user=user, now=now)
    db.session.flush()
    if answered:  # findings and the patient's words go back to the hospital
        from ..rectification.findings import after_audit_call
        after_audit_call(record, user=user, now=now)
    audit.record("sample.call", user=user, object_type="sampled_record", object_id=record.id, now=now,
                 detail={"outcome": data["outcome"], "classification": record.classification})
    return attempt


def give_up(record: SampledRecord, *, user, now: datetime) -> None:
    """Unreachable after enough dials: recorded as not reached (not verifiable)."""
    if record.reached is not None:
        raise CallError(N_("this patient's result is already recorded"))
    if failed_attempts(record) < MIN_ATTEMPTS_BEFORE_UNREACHABLE:
        raise CallError(N_("dial at least %(n)s times before recording the patient as unreachable"),
                        n=MIN_ATTEMPTS_BEFORE_UNREACHABLE)
    _conclude(record, False, None, user=user, now=now)
    db.session.flush()
    audit.record("sample.unreachable", user=user, object_type="sampled_record", object_id=record.id, now=now)


def _conclude(record: SampledRecord, reached: bool, hospital_called, *, user, now) -> None:
    hosp = hospital_record(record.discharge_id)
    record.reached = reached
    record.hospital_called = hospital_called
    record.recorded_by_id = user.id
    record.recorded_at = now
    record.hospital_status = hosp.status
    record.hospital_completed_at = hosp.completed_at
    record.hospital_satisfaction = hosp.satisfaction
    record.classification = classify(hosp, AuditorCall(reached, hospital_called)).value
