"""Pacing per patient: the retry spacing and the daily cap count every dial to the patient from
any queue; two callers never hold one patient (the second sees who has it, until when)."""
import threading
from datetime import date, datetime

import pytest
import time_machine
from flask import current_app
from sqlalchemy import select

from followup.calls import Conflict, policy, queueing
from followup.extensions import db as _db
from followup.models import FollowupTask, Level, TaskStatus, User
from followup.models.call import Outcome

from .conftest import at


@pytest.fixture
def both(world, db):
    """One patient's ward task (cardiology nurse) and hospital task (follow-up centre)."""
    d = world.discharge(world.cardiology, discharged=date(2026, 11, 20), name="张林")
    return next(t for t in d.tasks if t.level == Level.WARD), next(t for t in d.tasks if t.level == Level.HOSPITAL)


def _no_answer(user, task, when):
    task = queueing.claim_task(user, task.id, when)
    queueing.record_attempt(user, task, Outcome.NO_ANSWER, when)
    _db.session.commit()


def test_a_ward_no_answer_holds_the_centre_off_the_patient_until_the_retry_time(db, world, both):
    ward, hosp = both
    _no_answer(world.nurse, ward, at(21, 9))
    # 09:00 + 2 h is still the morning: the next try is the afternoon window, for both levels
    assert ward.next_attempt_at == at(21, 14)
    assert db.session.get(FollowupTask, hosp.id).next_attempt_at == at(21, 14)
    assert queueing.next_task(world.centre, at(21, 9, 1)) is None
    with pytest.raises(Conflict) as err:
        queueing.claim_task(world.centre, hosp.id, at(21, 9, 1))
    assert err.value.message == "task is not callable yet"
    assert queueing.next_task(world.centre, at(21, 14)).id == hosp.id


def test_the_daily_cap_counts_dials_from_both_levels(db, world, both):
    ward, hosp = both
    _no_answer(world.nurse, ward, at(21, 8, 30))    # morning
    _no_answer(world.centre, hosp, at(21, 14))      # afternoon, 5.5 h later
    _no_answer(world.nurse, ward, at(21, 17))       # evening: the third dial today
    db.session.expire_all()
    # three dials to the patient today: both tasks wait for tomorrow morning
    assert db.session.get(FollowupTask, ward.id).next_attempt_at == at(22, 8, 30)
    assert db.session.get(FollowupTask, hosp.id).next_attempt_at == at(22, 8, 30)
    assert queueing.next_task(world.centre, at(21, 19)) is None


def test_per_task_pacing_alone_would_have_allowed_six_calls(db, world, both):
    # the counter-case the rule exists for: the retry time of the ward task is computed from
    # the patient's dials, not from its own (one dial each would have allowed 11:00 / 14:00).
    ward, hosp = both
    _no_answer(world.nurse, ward, at(21, 8, 30))
    db.session.expire_all()
    assert db.session.get(FollowupTask, hosp.id).next_attempt_at == at(21, 14)


def test_a_patients_own_callback_time_on_the_other_task_is_kept(db, world, both):
    ward, hosp = both
    t = queueing.claim_task(world.centre, hosp.id, at(21, 9))
    queueing.record_attempt(world.centre, t, Outcome.CALLBACK, at(21, 9), callback_at=at(21, 10))
    db.session.commit()
    _no_answer(world.nurse, ward, at(21, 9, 30))
    assert db.session.get(FollowupTask, hosp.id).next_attempt_at == at(21, 10)


def test_two_callers_never_hold_one_patient_and_the_second_sees_who_and_until_when(db, world, both):
    ward, hosp = both
    queueing.claim_task(world.nurse, ward.id, at(21, 9))
    db.session.commit()
    with pytest.raises(Conflict) as err:
        queueing.claim_task(world.centre, hosp.id, at(21, 9, 2))
    assert err.value.extra["held_by"] == world.nurse.display_name
    assert datetime.fromisoformat(err.value.extra["held_until"]) == at(21, 9, 15)
    db.session.rollback()
    assert db.session.get(FollowupTask, hosp.id).status == TaskStatus.OPEN
    assert queueing.next_task(world.centre, at(21, 9, 3)) is None       # skipped, not handed out
    assert db.session.get(FollowupTask, hosp.id).status == TaskStatus.OPEN
    # the queue page says who is on the patient
    assert queueing.patient_holders(world.centre, [hosp], at(21, 9, 3), policy.default())
    # the claim ends (timeout) or is released: then the centre may call
    assert queueing.claim_task(world.centre, hosp.id, at(21, 9, 16)).claimed_by_id == world.centre.id


def _together(*threads: threading.Thread) -> None:
    """Start the racing threads, then wait for each (a minute at most)."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_two_callers_claiming_both_levels_at_the_same_moment_one_wins(make_app, db, world, both):
    """Each caller in its own thread and session, released together, many rounds."""
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 0, "pool_timeout": 30})
    ward, hosp = both
    for round_ in range(6):
        start, won, errors = threading.Barrier(2), [], []

        def claim(user_id, task_id):
            with app.app_context():
                try:
                    user = _db.session.get(User, user_id)
                    user.ward_ids
                    start.wait(30)
                    try:
                        queueing.claim_task(user, task_id, at(21, 9, round_))
                        _db.session.commit()
                        won.append(user_id)
                    except Conflict:
                        _db.session.rollback()
                except BaseException as exc:
                    errors.append(exc)
                finally:
                    _db.session.remove()
        _together(threading.Thread(target=claim, args=(world.nurse.id, ward.id)),
                  threading.Thread(target=claim, args=(world.centre.id, hosp.id)))
        assert not errors, errors
        assert len(won) == 1, f"round {round_}: {won}"
        db.session.expire_all()
        held = db.session.scalars(select(FollowupTask).where(FollowupTask.status == TaskStatus.CLAIMED)).all()
        assert len(held) == 1
        held[0].status, held[0].claimed_by_id, held[0].claimed_at = TaskStatus.OPEN, None, None
        db.session.commit()


def test_two_callers_pressing_next_call_at_the_same_moment_never_share_a_patient(make_app, db, world, both):
    """The nurse's queue and the centre's each hold one level of the same patient; both press
    "next call" together, each in its own thread and session, many rounds: one gets the patient."""
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 0, "pool_timeout": 30})
    for round_ in range(8):
        start, got, errors = threading.Barrier(2), [], []

        def press(user_id):
            with app.app_context():
                try:
                    user = _db.session.get(User, user_id)
                    user.ward_ids
                    start.wait(30)
                    task = queueing.next_task(user, at(21, 9, round_))
                    _db.session.commit()
                    if task is not None:
                        got.append((user_id, task.id))
                except BaseException as exc:
                    errors.append(exc)
                finally:
                    _db.session.remove()
        _together(*(threading.Thread(target=press, args=(uid,)) for uid in (world.nurse.id, world.centre.id)))
        assert not errors, errors
        assert len(got) == 1, f"round {round_}: {got}"
        db.session.expire_all()
        held = db.session.scalars(select(FollowupTask).where(FollowupTask.status == TaskStatus.CLAIMED)).all()
        assert [(t.claimed_by_id, t.id) for t in held] == got
        held[0].status, held[0].claimed_by_id, held[0].claimed_at = TaskStatus.OPEN, None, None
        db.session.commit()


def test_next_call_skips_a_patient_held_at_the_other_level_and_takes_the_next_one(db, world, both):
    ward, hosp = both
    later = world.discharge(world.cardiology, discharged=date(2026, 11, 20), name="李明")
    queueing.claim_task(world.nurse, ward.id, at(21, 9))
    db.session.commit()
    taken = queueing.next_task(world.centre, at(21, 9, 1))
    assert taken is not None and taken.discharge_id == later.id
    assert db.session.get(FollowupTask, hosp.id).status == TaskStatus.OPEN  # never claimed meanwhile


def test_the_queue_page_at_21h_says_why_nobody_is_called_and_when(db, world, both, as_user):
    with time_machine.travel(at(21, 21), tick=False):
        page = as_user(world.nurse).get("/calls/").get_data(as_text=True)
        assert "08:30–11:30, 14:00–20:00" in page and "08:30" in page
        assert 'disabled' in page
        resp = as_user(world.nurse).post("/calls/next", follow_redirects=True).get_data(as_text=True)
        assert "08:30" in resp


def test_calling_hours_are_a_hospital_setting(db, world, both, as_user):
    world.hospital_a.calling_hours = "20:00-22:00"
    db.session.commit()
    with time_machine.travel(at(21, 21), tick=False):
        page = as_user(world.nurse).get("/calls/").get_data(as_text=True)
        assert "20:00–22:00" in page and "disabled" not in page
        assert as_user(world.nurse).post("/calls/next").headers["Location"] == f"/calls/{both[0].id}"


def test_the_hospital_admin_sets_calling_hours_retry_and_cap_audited(db, world, as_user):
    from followup.models import AuditEvent, Hospital
    admin = as_user(world.hospital_admin)
    bad = admin.post("/settings/calls/", data={"calling_hours": "20:00-08:00", "retry_minutes": "", "max_attempts_per_day": ""})
    assert bad.status_code == 200 and db.session.get(Hospital, world.hospital_a.id).calling_hours is None
    assert admin.post("/settings/calls/", data={"calling_hours": "09:00-12:00，14:00–18:00", "retry_minutes": "90",
                                                "max_attempts_per_day": "2"}).status_code == 302
    db.session.expire_all()
    h = db.session.get(Hospital, world.hospital_a.id)
    assert (h.calling_hours, h.retry_minutes, h.max_attempts_per_day) == ("09:00-12:00,14:00-18:00", 90, 2)
    pol = policy.build(current_app.config, h)
    assert policy.hours_text(pol) == "09:00–12:00, 14:00–18:00" and pol.max_per_day == 2
    assert policy.build(current_app.config, world.hospital_b).max_per_day == 3  # others keep the default
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hospital.call_settings")).user_id == \
        world.hospital_admin.id
    assert as_user(world.nurse).get("/settings/calls/").status_code == 404


def test_the_api_says_who_holds_the_patient(db, world, both, as_user):
    ward, hosp = both
    with time_machine.travel(at(21, 9), tick=False):
        assert as_user(world.nurse).post(f"/api/v1/calls/tasks/{ward.id}/claim").status_code == 200
        resp = as_user(world.centre).post(f"/api/v1/calls/tasks/{hosp.id}/claim")
    body = resp.get_json()
    assert resp.status_code == 409 and body["held_by"] == world.nurse.display_name
    assert datetime.fromisoformat(body["held_until"]) == at(21, 9, 15)
