"""The follow-up rule: two tasks per eligible discharge, due at the end of the 7th day."""
from datetime import date, datetime, timezone

import pytest

from followup.core.clock import LOCAL_TZ
from followup.models import FollowupTask, Level, TaskStatus
from followup.calls.scheduling import create_tasks, due_at_for


@pytest.mark.parametrize("discharged, due_local", [
    (datetime(2026, 3, 1, 0, 0, 0, tzinfo=LOCAL_TZ), datetime(2026, 3, 9, 0, 0, tzinfo=LOCAL_TZ)),
    (datetime(2026, 3, 1, 23, 59, 59, tzinfo=LOCAL_TZ), datetime(2026, 3, 9, 0, 0, tzinfo=LOCAL_TZ)),
    (datetime(2026, 2, 28, 12, 0, tzinfo=LOCAL_TZ), datetime(2026, 3, 8, 0, 0, tzinfo=LOCAL_TZ)),
    (datetime(2026, 12, 31, 8, 0, tzinfo=LOCAL_TZ), datetime(2027, 1, 8, 0, 0, tzinfo=LOCAL_TZ)),
])
def test_due_at_end_of_seventh_local_day_after_discharge(world, discharged, due_local):
    d = world.discharge(discharged=discharged)
    assert {t.due_at for t in d.tasks} == {due_local.astimezone(timezone.utc)}


def test_due_date_is_computed_in_shanghai_time_not_utc(app):
    # 2026-03-01 00:30 in Shanghai is still 2026-02-28 in UTC: the local date decides.
    assert due_at_for(date(2026, 3, 1)) == datetime(2026, 3, 8, 16, 0, tzinfo=timezone.utc)


def test_every_eligible_discharge_gets_one_ward_and_one_hospital_task(world):
    d = world.discharge()
    assert sorted(t.level for t in d.tasks) == [Level.HOSPITAL, Level.WARD]
    assert all(t.status == TaskStatus.OPEN and t.ward_id == d.ward_id and t.hospital_id == d.hospital_id
               for t in d.tasks)


@pytest.mark.parametrize("disposition, n_tasks", [("1", 2), ("2", 2), ("3", 2), ("4", 2), ("9", 2), ("5", 0)])
def test_patients_who_died_in_hospital_get_no_call(world, disposition, n_tasks):
    d = world.discharge(disposition=disposition)
    assert len(d.tasks) == n_tasks


def test_creating_tasks_twice_adds_nothing(world, db):
    d = world.discharge()
    assert create_tasks(d) == []
    assert db.session.query(FollowupTask).filter_by(discharge_id=d.id).count() == 2
