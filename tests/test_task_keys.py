"""Issue 16 item 5: a follow-up task has one foreign key, (discharge_id, hospital_id) → its stay,
instead of three checked per row. The guarantee holds (and is stronger: a task cannot name another
hospital than its stay's), on SQLite and PostgreSQL."""
import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from followup.core.clock import utcnow
from followup.models import Discharge, FollowupTask
from tests.import_files import csv_bytes, imported, row


def _task(discharge_id, hospital_id, ward_id):
    return insert(FollowupTask.__table__).values(discharge_id=discharge_id, level="ward", kind="plan",
                                                 hospital_id=hospital_id, ward_id=ward_id, status="open",
                                                 due_at=utcnow(), created_at=utcnow(), version=1)


@pytest.fixture
def a_stay(world, db):
    imported(world, csv_bytes([row(no="T1", id_number="")]))
    return db.session.scalar(select(Discharge).where(Discharge.inpatient_no == "T1"))


def test_a_task_of_an_existing_stay_in_its_hospital_is_stored(world, db, a_stay):
    db.session.execute(_task(a_stay.id, a_stay.hospital_id, a_stay.ward_id))
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(FollowupTask.discharge_id == a_stay.id)) == 3


@pytest.mark.parametrize("which", ["no such stay", "another hospital"])
def test_a_task_naming_no_stay_or_another_hospital_than_its_stays_is_refused(world, db, a_stay, which):
    discharge_id = a_stay.id + 1000 if which == "no such stay" else a_stay.id
    hospital_id = world.hospital_b.id if which == "another hospital" else a_stay.hospital_id
    with pytest.raises(IntegrityError):
        db.session.execute(_task(discharge_id, hospital_id, a_stay.ward_id))
        db.session.flush()
    db.session.rollback()


def test_deleting_a_stay_deletes_its_tasks(world, db, a_stay):
    db.session.execute(delete(Discharge).where(Discharge.id == a_stay.id))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 0


def test_the_orm_fills_the_hospital_of_a_task_from_its_stay(world, db, a_stay):
    t = FollowupTask(discharge=a_stay, level="hospital", kind="review", ward_id=a_stay.ward_id, due_at=utcnow())
    db.session.add(t)
    db.session.commit()
    assert t.hospital_id == a_stay.hospital_id
