"""The queue: ordering, calling hours, callbacks, claims, assignment and scope."""
from datetime import timedelta

import pytest

from followup.calls import Conflict, Invalid, NotAllowed, NotFound, policy, queueing
from followup.models import FollowupTask, Level, TaskStatus
from followup.models.call import Outcome

from .conftest import at


def test_next_call_takes_the_earliest_deadline_first(db, world, ward_tasks):
    now = at(21, 9)
    got = [queueing.next_task(world.nurse, now).id for _ in range(3)]
    assert got == [t.id for t in ward_tasks]
    assert queueing.next_task(world.nurse, now) is None


def test_a_claimed_task_is_not_handed_to_a_second_caller(db, world, ward_tasks):
    world.nurse.wards.append(world.orthopaedics)
    world.ortho_nurse.wards.append(world.cardiology)
    db.session.commit()
    a = queueing.next_task(world.nurse, at(21, 9))
    b = queueing.next_task(world.ortho_nurse, at(21, 9))
    assert a.id != b.id and a.claimed_by_id == world.nurse.id and b.claimed_by_id == world.ortho_nurse.id


def test_no_calls_outside_calling_hours(db, world, ward_tasks):
    assert queueing.next_task(world.nurse, at(21, 12)) is None   # lunch
    assert queueing.next_task(world.nurse, at(21, 8, 29)) is None
    assert queueing.next_task(world.nurse, at(21, 20, 0)) is None
    assert queueing.next_task(world.nurse, at(21, 8, 30)) is not None
    assert queueing.next_task(world.nurse, at(21, 19, 59)) is not None


def test_calling_hours_come_from_config(app, db, world, ward_tasks):
    app.config["FOLLOWUP_CALLING_HOURS"] = "12:00-13:00"
    pol = policy.build(app.config)
    assert queueing.next_task(world.nurse, at(21, 9), pol) is None
    assert queueing.next_task(world.nurse, at(21, 12, 30), pol) is not None


def test_a_patients_callback_time_wins_over_calling_hours(db, world, ward_tasks):
    first = queueing.next_task(world.nurse, at(21, 9))
    queueing.record_attempt(world.nurse, first, Outcome.CALLBACK, at(21, 9, 5), callback_at=at(21, 21))
    db.session.commit()
    assert queueing.next_task(world.nurse, at(21, 20, 30)) is None  # not yet: 21:00 asked for
    got = queueing.next_task(world.nurse, at(21, 21, 0))            # outside hours, but asked for
    assert got.id == first.id


def test_a_callback_time_holds_the_task_until_then_even_within_hours(db, world, ward_tasks):
    first = queueing.next_task(world.nurse, at(21, 9))
    queueing.record_attempt(world.nurse, first, Outcome.CALLBACK, at(21, 9, 5), callback_at=at(21, 15))
    db.session.commit()
    taken = [queueing.next_task(world.nurse, at(21, 14, 30)) for _ in range(3)]
    assert first.id not in [t.id for t in taken if t]
    assert queueing.next_task(world.nurse, at(21, 15)).id == first.id


def test_a_due_callback_comes_before_earlier_deadlines(db, world, ward_tasks):
    latest = queueing.claim_task(world.nurse, ward_tasks[-1].id, at(21, 9))
    queueing.record_attempt(world.nurse, latest, Outcome.CALLBACK, at(21, 9, 1), callback_at=at(21, 15))
    db.session.commit()
    assert queueing.next_task(world.nurse, at(21, 15, 10)).id == latest.id


def test_a_missed_callback_stops_overriding_calling_hours_after_the_grace_period(db, world, ward_tasks):
    t = queueing.next_task(world.nurse, at(21, 9))
    queueing.record_attempt(world.nurse, t, Outcome.CALLBACK, at(21, 9, 5), callback_at=at(21, 21))
    db.session.commit()
    assert queueing.next_task(world.nurse, at(21, 22, 1)) is None      # 61 min late, outside hours
    assert queueing.next_task(world.nurse, at(22, 8, 30)).id == t.id   # next morning, in hours


def test_a_callback_must_be_in_the_future(db, world, ward_tasks):
    t = queueing.next_task(world.nurse, at(21, 9))
    with pytest.raises(Invalid) as err:
        queueing.record_attempt(world.nurse, t, Outcome.CALLBACK, at(21, 9), callback_at=at(21, 8))
    assert err.value.field == "callback_at"
    with pytest.raises(Invalid):
        queueing.record_attempt(world.nurse, t, Outcome.CALLBACK, at(21, 9), callback_at=None)


def test_abandoned_claims_return_to_the_queue(db, world, ward_tasks):
    t = queueing.next_task(world.nurse, at(21, 9))
    db.session.commit()
    assert queueing.release_expired_claims(at(21, 9, 14)) == 0
    assert queueing.release_expired_claims(at(21, 9, 16)) == 1
    db.session.expire_all()
    assert db.session.get(FollowupTask, t.id).status == TaskStatus.OPEN
    assert queueing.next_task(world.nurse, at(21, 9, 16)).id == t.id


def test_next_call_itself_takes_back_an_abandoned_claim(db, world, ward_tasks):
    t = queueing.next_task(world.nurse, at(21, 9))
    db.session.commit()
    world.ortho_nurse.wards.append(world.cardiology)
    db.session.commit()
    assert queueing.next_task(world.ortho_nurse, at(21, 9, 20)).id == t.id


def test_claim_timeout_comes_from_config(app, db, world, ward_tasks):
    app.config["FOLLOWUP_CLAIM_MINUTES"] = 5
    pol = policy.build(app.config)
    queueing.next_task(world.nurse, at(21, 9), pol)
    assert queueing.release_expired_claims(at(21, 9, 6), pol=pol) == 1


def test_assigned_tasks_come_first_in_the_assignees_queue(db, world, ward_tasks):
    world.nurse.is_head_nurse = True
    latest = ward_tasks[-1]
    queueing.assign_task(world.nurse, latest, world.nurse, at(21, 8))
    db.session.commit()
    assert queueing.next_task(world.nurse, at(21, 9)).id == latest.id


def test_tasks_assigned_to_another_caller_are_held_for_her_until_at_risk(db, world, ward_tasks):
    world.nurse.is_head_nurse = True
    world.ortho_nurse.wards.append(world.cardiology)
    first = ward_tasks[0]  # due 26 Nov 00:00 local
    queueing.assign_task(world.nurse, first, world.ortho_nurse, at(21, 8))
    db.session.commit()
    assert queueing.next_task(world.nurse, at(21, 9)).id != first.id
    db.session.rollback()
    assert queueing.next_task(world.nurse, at(25, 9)).id == first.id  # due within 24 h


def test_only_a_head_nurse_assigns_and_only_to_a_caller_of_the_queue(db, world, ward_tasks):
    with pytest.raises(NotAllowed):
        queueing.assign_task(world.nurse, ward_tasks[0], world.nurse, at(21, 8))
    world.nurse.is_head_nurse = True
    with pytest.raises(Invalid):
        queueing.assign_task(world.nurse, ward_tasks[0], world.nurse_b, at(21, 8))
    with pytest.raises(Invalid):
        queueing.assign_task(world.nurse, ward_tasks[0], world.centre, at(21, 8))


def test_reassigning_and_unassigning(db, world, ward_tasks):
    world.nurse.is_head_nurse = True
    world.ortho_nurse.wards.append(world.cardiology)
    t = ward_tasks[0]
    queueing.assign_task(world.nurse, t, world.ortho_nurse, at(21, 8))
    queueing.assign_task(world.nurse, t, world.nurse, at(21, 8))
    assert t.assigned_to_id == world.nurse.id
    queueing.assign_task(world.nurse, t, None, at(21, 8))
    assert t.assigned_to_id is None


def test_centre_staff_work_the_hospital_level_queue_only(db, world, ward_tasks):
    t = queueing.next_task(world.centre, at(21, 9))
    assert t.level == Level.HOSPITAL and t.hospital_id == world.hospital_a.id
    assert queueing.next_task(world.centre_b, at(21, 9)) is None


def test_tasks_of_another_ward_or_hospital_look_missing(db, world, ward_tasks):
    for user in (world.ortho_nurse, world.nurse_b, world.centre):
        with pytest.raises(NotFound):
            queueing.claim_task(user, ward_tasks[0].id, at(21, 9))


def test_claiming_a_named_task_twice_conflicts(db, world, ward_tasks):
    world.ortho_nurse.wards.append(world.cardiology)
    queueing.claim_task(world.nurse, ward_tasks[1].id, at(21, 9))
    assert queueing.claim_task(world.nurse, ward_tasks[1].id, at(21, 9)).claimed_by_id == world.nurse.id
    with pytest.raises(Conflict):
        queueing.claim_task(world.ortho_nurse, ward_tasks[1].id, at(21, 9, 1))


def test_a_named_task_cannot_be_claimed_before_its_retry_time(db, world, ward_tasks):
    t = queueing.claim_task(world.nurse, ward_tasks[0].id, at(21, 9))
    queueing.record_attempt(world.nurse, t, Outcome.NO_ANSWER, at(21, 9))
    with pytest.raises(Conflict) as err:
        queueing.claim_task(world.nurse, t.id, at(21, 10))
    assert "callable_at" in err.value.extra


def test_only_the_claimer_records_attempts_and_completes(db, world, ward_tasks):
    world.ortho_nurse.wards.append(world.cardiology)
    t = queueing.next_task(world.nurse, at(21, 9))
    with pytest.raises(Conflict):
        queueing.record_attempt(world.ortho_nurse, t, Outcome.ANSWERED, at(21, 9, 1))
    with pytest.raises(Conflict):
        queueing.complete_task(world.ortho_nurse, t, at(21, 9, 1))


def test_answered_keeps_the_claim_and_complete_finishes_the_task(db, world, ward_tasks):
    t = queueing.next_task(world.nurse, at(21, 9))
    queueing.record_attempt(world.nurse, t, Outcome.ANSWERED, at(21, 9, 1))
    assert t.status == TaskStatus.CLAIMED and t.claimed_by_id == world.nurse.id
    queueing.complete_task(world.nurse, t, at(21, 9, 10))
    assert t.status == TaskStatus.DONE and t.completed_at == at(21, 9, 10)


def test_release_hands_the_task_back_untouched(db, world, ward_tasks):
    t = queueing.next_task(world.nurse, at(21, 9))
    queueing.release_task(world.nurse, t, at(21, 9, 1))
    assert t.status == TaskStatus.OPEN and t.claimed_by_id is None
    assert queueing.next_task(world.nurse, at(21, 9, 2)).id == t.id


def test_queue_counts_and_page(db, world, ward_tasks):
    now = at(25, 9)  # due 26 00:00 (today and at risk), 27 00:00 and 28 00:00 (neither)
    t = queueing.claim_task(world.nurse, ward_tasks[2].id, now)
    queueing.record_attempt(world.nurse, t, Outcome.ANSWERED, now)
    queueing.complete_task(world.nurse, t, now + timedelta(minutes=5))
    counts = queueing.queue_counts(world.nurse, now + timedelta(minutes=6))
    assert counts == {"open": 2, "due_today": 1, "at_risk_24h": 1, "overdue": 0, "done_today": 1}
    assert queueing.queue_counts(world.nurse, at(26, 9))["overdue"] == 1
    queueing.claim_task(world.nurse, ward_tasks[1].id, now)  # claimed tasks stay on the list
    page = queueing.queue_page(world.nurse, now, limit=10)
    assert [p.id for p in page] == [ward_tasks[0].id, ward_tasks[1].id]
    assert queueing.queue_page(world.nurse, now, limit=1, offset=1)[0].id == ward_tasks[1].id


def test_an_abandoned_claim_can_be_claimed_by_name(db, world, ward_tasks):
    world.ortho_nurse.wards.append(world.cardiology)
    t = queueing.claim_task(world.nurse, ward_tasks[0].id, at(21, 9))
    with pytest.raises(Conflict):
        queueing.claim_task(world.ortho_nurse, t.id, at(21, 9, 14))
    assert queueing.claim_task(world.ortho_nurse, t.id, at(21, 9, 16)).claimed_by_id == world.ortho_nurse.id


def test_finished_tasks_cannot_be_claimed_or_assigned(db, world, ward_tasks):
    world.nurse.is_head_nurse = True
    t = queueing.claim_task(world.nurse, ward_tasks[0].id, at(21, 9))
    queueing.record_attempt(world.nurse, t, Outcome.REFUSED, at(21, 9, 1))
    with pytest.raises(Conflict):
        queueing.claim_task(world.nurse, t.id, at(21, 9, 2))
    with pytest.raises(Conflict):
        queueing.assign_task(world.nurse, t, world.nurse, at(21, 9, 2))


def test_a_head_nurse_cannot_assign_outside_her_wards(db, world, ward_tasks):
    world.nurse_b.is_head_nurse = True
    with pytest.raises(NotFound):
        queueing.assign_task(world.nurse_b, ward_tasks[0], world.nurse_b, at(21, 9))


def test_only_callers_work_a_queue(db, world, ward_tasks):
    for user in (world.qa, world.hospital_admin, world.county_auditor):
        with pytest.raises(NotAllowed):
            queueing.next_task(user, at(21, 9))


def test_the_head_nurse_flag_is_set_from_the_command_line_and_audited(db, world, runner):
    from sqlalchemy import select

    from followup.models import AuditEvent
    result = runner.invoke(args=["followup", "head-nurse", world.nurse.username])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert world.nurse.is_head_nurse
    assert db.session.scalar(select(AuditEvent.object_id).where(AuditEvent.action == "user.head_nurse")) == world.nurse.id
    assert runner.invoke(args=["followup", "head-nurse", world.qa.username]).exit_code != 0
    assert runner.invoke(args=["followup", "head-nurse", "nobody"]).exit_code != 0
    assert runner.invoke(args=["followup", "head-nurse", world.nurse.username, "--off"]).exit_code == 0
    db.session.expire_all()
    assert not world.nurse.is_head_nurse
