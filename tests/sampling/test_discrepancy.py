"""Classifying what the patient told the auditor against the hospital's record: every case, pure
and through the database (task statuses, completed_at, the hospital-recorded satisfaction)."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from followup.extensions import db
from followup.models import FollowupTask, Level
from followup.models.call import HospitalFollowup
from followup.models.sample import SampledRecord
from followup.sampling.calls import give_up, record_attempt
from followup.sampling.discrepancy import AuditorCall, HospitalRecord, classify, combine_statuses
from followup.sampling.report import hospital_rows

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)

CASES = [  # hospital status, reached, patient says the hospital called → classification
    ("done", True, "yes", "consistent"),
    ("done", True, "no", "suspected_false"),
    ("done", True, "unsure", "not_verifiable"),
    ("done", False, None, "not_verifiable"),
    ("lost", True, "yes", "lost_but_reachable"),
    ("lost", True, "no", "lost_but_reachable"),
    ("lost", False, None, "not_verifiable"),
    ("closed", True, "yes", "consistent"),
    ("closed", True, "no", "not_verifiable"),
    ("open", True, "no", "not_verifiable"),
    (None, True, "yes", "not_verifiable"),
]


@pytest.mark.parametrize("status,reached,called,expected", CASES)
def test_classification_rules(status, reached, called, expected):
    assert classify(HospitalRecord(status, None, None), AuditorCall(reached, called)) == expected


def test_the_most_favourable_claim_of_the_two_tasks_is_compared():
    assert combine_statuses(["open", "done"]) == "done"
    assert combine_statuses(["lost", "closed"]) == "lost"
    assert combine_statuses([]) is None


@pytest.fixture
def audited(world, draw):
    """One discharge per case in CASES (hospital A), all sampled at rate 100%."""
    made = []
    for i, (status, reached, called, expected) in enumerate(CASES):
        d = world.discharge(world.cardiology, discharged=date(2026, 10, 1 + i), tasks=status is not None)
        for t in db.session.scalars(select(FollowupTask).where(FollowupTask.discharge_id == d.id)):
            t.status = status
            if status == "done":
                t.completed_at = datetime(2026, 10, 5 + i, 3, tzinfo=timezone.utc)
                if t.level == Level.HOSPITAL:
                    db.session.add(HospitalFollowup(task_id=t.id, recorded_by_id=world.centre.id, sat_overall=5))
        made.append((d.id, reached, called, expected))
    db.session.commit()
    sample = draw(world.county_a, rate="1")
    return sample, made


def test_every_case_is_classified_through_the_database_and_the_report_adds_them_up(world, audited):
    sample, made = audited
    for discharge_id, reached, called, _expected in made:
        rec = db.session.scalars(select(SampledRecord).where(SampledRecord.discharge_id == discharge_id)).one()
        if reached:
            record_attempt(rec, {"outcome": "answered", "hospital_called": called, "satisfaction": 3},
                           user=world.county_auditor, now=NOW)
        else:
            for _ in range(3):
                record_attempt(rec, {"outcome": "no_answer"}, user=world.county_auditor, now=NOW)
            give_up(rec, user=world.county_auditor, now=NOW)
    db.session.commit()
    got = {r.discharge_id: r.classification for r in db.session.scalars(select(SampledRecord))}
    assert got == {d: expected for d, _r, _c, expected in made}
    done_yes = db.session.scalars(select(SampledRecord).where(SampledRecord.discharge_id == made[0][0])).one()
    assert done_yes.hospital_completed_at == datetime(2026, 10, 5, 3, tzinfo=timezone.utc)
    assert (done_yes.hospital_satisfaction, done_yes.satisfaction) == (5, 3)

    [row] = hospital_rows(sample.id)
    assert (row.sampled, row.recorded, row.reached) == (11, 11, 9)
    assert (row.consistent, row.suspected_false, row.lost_but_reachable, row.not_verifiable) == (2, 1, 2, 6)
    assert row.consistency_rate == pytest.approx(2 / 5) and row.discrepancy_rate == pytest.approx(3 / 5)
    # Both satisfactions known only where the hospital recorded 5 and the patient was reached.
    assert (row.sat_hospital, row.sat_auditor, row.satisfaction_gap) == (5.0, 3.0, 2.0)


def test_a_hospital_editing_its_record_after_the_audit_call_does_not_change_the_result(world, audited):
    _sample, made = audited
    discharge_id = made[1][0]  # done, patient denies any call
    rec = db.session.scalars(select(SampledRecord).where(SampledRecord.discharge_id == discharge_id)).one()
    record_attempt(rec, {"outcome": "answered", "hospital_called": "no"}, user=world.county_auditor, now=NOW)
    db.session.commit()
    for t in db.session.scalars(select(FollowupTask).where(FollowupTask.discharge_id == discharge_id)):
        t.status = "lost"
    db.session.commit()
    assert db.session.get(SampledRecord, rec.id).classification == "suspected_false"
    assert db.session.get(SampledRecord, rec.id).hospital_status == "done"
