"""The call rules with a frozen clock (every `now` is passed in): retries, the daily cap, the
lost-to-follow-up rule, closing outcomes, wrong numbers."""
import pytest

from followup.calls import policy, queueing
from followup.calls.watch import mark_lost
from followup.models import TaskStatus
from followup.models.call import Outcome

from .conftest import at


@pytest.mark.parametrize("outcome", [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.POWERED_OFF])
def test_no_answer_retries_no_sooner_than_two_hours_in_another_part_of_the_day(db, world, ward_tasks, outcome):
    t = queueing.next_task(world.nurse, at(21, 9))
    queueing.record_attempt(world.nurse, t, outcome, at(21, 9))
    assert t.status == TaskStatus.OPEN and t.claimed_by_id is None
    assert t.next_attempt_at == at(21, 14)  # 11:00 is still morning; afternoon calls start 14:00
    assert queueing.next_task(world.nurse, at(21, 11)).id != t.id
    assert queueing.next_task(world.nurse, at(21, 14)).id == t.id  # the earliest deadline again


@pytest.mark.parametrize("dialled, retry", [
    (at(21, 10), at(21, 14)),        # 12:00 is lunch: the afternoon window opens at 14:00
    (at(21, 15, 30), at(21, 17, 30)),  # 2 h later is already evening
    (at(21, 14), at(21, 17)),        # 16:00 is still afternoon: wait for the evening part
    (at(21, 18), at(22, 8, 30)),     # 20:00 is past calling hours: next morning
])
def test_retry_times(app, dialled, retry):
    assert policy.next_retry_at([dialled]) == retry


def test_retry_spacing_comes_from_config(app):
    app.config["FOLLOWUP_RETRY_MINUTES"] = 360
    assert policy.next_retry_at([at(21, 8, 30)], policy.build(app.config)) == at(21, 14, 30)


def test_at_most_three_attempts_a_local_day(app):
    app.config["FOLLOWUP_DAY_PARTS"] = "10:00,12:00,15:00,18:00"
    app.config["FOLLOWUP_RETRY_MINUTES"] = 60
    pol = policy.build(app.config)
    two = [at(21, 8, 30), at(21, 10, 30)]
    assert policy.next_retry_at(two, pol) == at(21, 14)
    assert policy.next_retry_at(two + [at(21, 14)], pol) == at(22, 8, 30)


def test_the_daily_cap_counts_local_days_not_utc_days(app):
    app.config["FOLLOWUP_DAY_PARTS"] = "10:00,12:00,15:00,18:00"
    app.config["FOLLOWUP_RETRY_MINUTES"] = 60
    # 08:30 local is 00:30 UTC: three dials on 21 Nov local, whatever the UTC date says
    three = [at(21, 8, 30), at(21, 10, 30), at(21, 14)]
    assert policy.next_retry_at(three, policy.build(app.config)) == at(22, 8, 30)


def _dial(world, task, when, outcome=Outcome.NO_ANSWER, pol=None):
    task = queueing.claim_task(world.nurse, task.id, when) if task.status != TaskStatus.CLAIMED else task
    queueing.record_attempt(world.nurse, task, outcome, when, pol=pol)
    return task


def _five_dials_over_three_days(world, task):
    for when in (at(24, 9), at(24, 14), at(25, 9), at(25, 14), at(26, 9)):
        _dial(world, task, when)


def test_lost_after_five_attempts_over_three_days_once_the_deadline_passed(db, world, ward_tasks):
    t = ward_tasks[1]  # due 27 Nov 00:00
    for when in (at(24, 9), at(24, 14), at(25, 9), at(25, 14)):
        _dial(world, t, when)
    _dial(world, t, at(27, 9))  # the fifth, past the deadline, on a third day
    assert t.status == TaskStatus.LOST and t.close_reason == "unreachable"


def test_five_attempts_before_the_deadline_are_not_lost_yet(db, world, ward_tasks):
    t = ward_tasks[1]  # due 27 Nov 00:00
    _five_dials_over_three_days(world, t)
    assert t.status == TaskStatus.OPEN
    db.session.commit()
    assert mark_lost(at(26, 23, 59)) == []
    assert mark_lost(at(27, 0, 0)) == [t.id]
    db.session.expire_all()
    assert t.status == TaskStatus.LOST


def test_five_attempts_over_two_days_are_not_lost(db, world, ward_tasks):
    t = ward_tasks[0]  # due 26 Nov 00:00
    for when in (at(24, 9), at(24, 14), at(24, 17)):
        _dial(world, t, when)
    for when in (at(27, 9), at(27, 14)):
        _dial(world, t, when)
    assert t.status == TaskStatus.OPEN  # past deadline, 5 dials, but only 2 days
    db.session.commit()
    assert mark_lost(at(28, 0)) == []


def test_four_attempts_over_three_days_are_not_lost(db, world, ward_tasks):
    t = ward_tasks[0]
    for when in (at(23, 9), at(24, 9), at(27, 9), at(27, 14)):
        _dial(world, t, when)
    assert t.status == TaskStatus.OPEN
    db.session.commit()
    assert mark_lost(at(28, 0)) == []


def test_the_lost_rule_comes_from_config(app, db, world, ward_tasks):
    app.config["FOLLOWUP_LOST_MIN_ATTEMPTS"] = 2
    app.config["FOLLOWUP_LOST_MIN_DAYS"] = 2
    t, pol = ward_tasks[0], policy.build(app.config)
    _dial(world, t, at(25, 9), pol=pol)
    _dial(world, t, at(26, 9), pol=pol)
    assert t.status == TaskStatus.LOST


@pytest.mark.parametrize("outcome, reason", [(Outcome.DECEASED, "deceased"), (Outcome.REFUSED, "refused"),
                                             (Outcome.READMITTED, "readmitted")])
def test_closing_outcomes_close_the_task_with_their_reason(db, world, ward_tasks, outcome, reason):
    t = _dial(world, ward_tasks[0], at(21, 9), outcome)
    assert (t.status, t.close_reason, t.claimed_by_id) == (TaskStatus.CLOSED, reason, None)
    assert t.completed_at == at(21, 9)
    assert queueing.next_task(world.nurse, at(21, 9, 1)).id != t.id


@pytest.fixture
def two_numbers(db, world):
    """A patient with a primary and a second number: their ward task."""
    d = world.discharge(world.cardiology, phone="+8613812345678")
    d.patient.other_phones = "+8613912345678"
    db.session.commit()
    return next(x for x in d.tasks if x.level == "ward")


def test_ending_a_task_is_audited_and_a_routine_dial_is_its_own_record(db, world, ward_tasks):
    from sqlalchemy import select

    from followup.models import AuditEvent
    from followup.models.call import CallAttempt
    routine = _dial(world, ward_tasks[0], at(21, 9), Outcome.NO_ANSWER)
    ended = _dial(world, ward_tasks[1], at(21, 9, 5), Outcome.DECEASED)
    db.session.commit()  # audit events join the chain with the commit (followup/core/audit.py)
    events = db.session.execute(select(AuditEvent.action, AuditEvent.object_id, AuditEvent.user_id)
                                .where(AuditEvent.object_type == "task")).all()
    assert events == [("task.close", ended.id, world.nurse.id)]
    dials = db.session.execute(select(CallAttempt.task_id, CallAttempt.caller_id, CallAttempt.outcome)
                               .order_by(CallAttempt.id)).all()
    assert dials == [(routine.id, world.nurse.id, "no_answer"), (ended.id, world.nurse.id, "deceased")]


def test_a_wrong_number_moves_on_to_the_next_number_at_once(world, two_numbers):
    t = two_numbers
    _dial(world, t, at(21, 9), Outcome.WRONG_NUMBER)
    assert t.status == TaskStatus.OPEN and t.next_attempt_at == at(21, 9)
    t = queueing.claim_task(world.nurse, t.id, at(21, 9, 1))
    queueing.record_attempt(world.nurse, t, Outcome.WRONG_NUMBER, at(21, 9, 2), number_index=1)
    assert t.status == TaskStatus.LOST and t.close_reason == "invalid_number"


def test_numbers_found_wrong_are_remembered_across_dials(world, two_numbers):
    t = two_numbers
    _dial(world, t, at(21, 9), Outcome.WRONG_NUMBER)
    assert queueing.number_to_dial(t) == 1
    _dial(world, t, at(21, 9, 5), Outcome.WRONG_NUMBER)  # number 0 redialled by mistake
    assert t.status == TaskStatus.OPEN  # number 1 is still untried
    t = queueing.claim_task(world.nurse, t.id, at(21, 9, 6))
    queueing.record_attempt(world.nurse, t, Outcome.WRONG_NUMBER, at(21, 9, 7), number_index=1)
    assert t.status == TaskStatus.LOST and queueing.number_to_dial(t) is None


def test_a_wrong_last_number_is_lost_at_once(db, world, ward_tasks):
    t = _dial(world, ward_tasks[0], at(21, 9), Outcome.WRONG_NUMBER)
    assert t.status == TaskStatus.LOST and t.close_reason == "invalid_number"


def test_callable_at(app, db, world, ward_tasks):
    t = ward_tasks[0]
    assert policy.callable_at(t, at(21, 12)) == at(21, 14)
    assert policy.callable_at(t, at(21, 9)) == at(21, 9)
    t.next_attempt_at = at(21, 17, 30)
    assert policy.callable_at(t, at(21, 9)) == at(21, 17, 30)
    t.callback_at = at(21, 21)
    assert policy.callable_at(t, at(21, 9)) == at(21, 21)
    assert policy.callable_at(t, at(21, 21, 30)) == at(21, 21)  # late, within the grace period
    assert policy.callable_at(t, at(21, 22, 30)) == at(22, 8, 30)  # missed: calling hours again


def test_calling_hours_must_be_well_formed():
    with pytest.raises(ValueError):
        policy.parse_windows("14:00-08:00")
    assert policy.parse_windows("") == ()
    assert policy.parse_windows("00:00-24:00")[0][1].hour == 23
