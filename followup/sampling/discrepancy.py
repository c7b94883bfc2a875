"""Comparing what the patient told the auditor with what the hospital recorded. Pure.

The rules (docs/sampling.md, "Classification"):
- the auditor never reached the patient → not verifiable (nothing to compare);
- hospital recorded a follow-up as done: the patient confirms a call → consistent; denies any
  call → suspected false record; is not sure → not verifiable;
- hospital recorded lost to follow-up (失访) but the auditor reached the patient → lost but
  reachable;
- hospital closed the task without a follow-up (refused, deceased …): the patient confirms a call
  → consistent, otherwise not verifiable;
- the hospital has recorded no outcome yet → not verifiable."""
from dataclasses import dataclass
from datetime import datetime

from ..models.sample import Answer, Classification
from ..models.task import TaskStatus

# When the two tasks of a discharge disagree, the most favourable claim the hospital makes is
# what the patient's account is held against.
_STATUS_ORDER = (TaskStatus.DONE, TaskStatus.LOST, TaskStatus.CLOSED, TaskStatus.CLAIMED, TaskStatus.OPEN)


@dataclass(frozen=True)
class HospitalRecord:
    status: str | None              # the discharge's follow-up status (see combine_statuses)
    completed_at: datetime | None
    satisfaction: int | None        # HospitalFollowup.sat_overall


@dataclass(frozen=True)
class AuditorCall:
    reached: bool
    hospital_called: str | None     # Answer


def combine_statuses(statuses: list[str]) -> str | None:
    """One status for a discharge from its ward-level and hospital-level tasks."""
    for status in _STATUS_ORDER:
        if status in statuses:
            return str(status)
    return None


def classify(hospital: HospitalRecord, call: AuditorCall) -> Classification:
    if not call.reached:
        return Classification.NOT_VERIFIABLE
    if hospital.status == TaskStatus.DONE:
        return {Answer.YES: Classification.CONSISTENT,
                Answer.NO: Classification.SUSPECTED_FALSE}.get(call.hospital_called,
                                                               Classification.NOT_VERIFIABLE)
    if hospital.status == TaskStatus.LOST:
        return Classification.LOST_BUT_REACHABLE
    if hospital.status == TaskStatus.CLOSED and call.hospital_called == Answer.YES:
        return Classification.CONSISTENT
    return Classification.NOT_VERIFIABLE
