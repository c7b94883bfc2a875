"""Patient-level outcomes: a death closes every open task of the person (both levels, every stay,
other hospitals by ID hash) and blocks later ones; refusals this-call-only vs never-again; undo
and lift by a named user; a do-not-call patient is offered by no route."""
import pytest
from sqlalchemy import select

from followup.calls import Conflict, queueing
from followup.models import AuditEvent, Discharge, FollowupTask, TaskStatus
from followup.models.call import CallAttempt, Outcome
from followup.models.outcome import MarkKind, PatientMark
from followup.patients import outcomes
from followup.patients.blocks import is_blocked
from tests.import_files import ID_MALE, csv_bytes, imported, row

from .conftest import LANDLINE, at, another_stay

NOW = at(21, 9)


def _all_tasks(db, *discharges):
    db.session.expire_all()
    return [t for d in discharges for t in db.session.get(Discharge, d.id).tasks]


def _dial(user, task, outcome, when=NOW, **kw):
    task = queueing.claim_task(user, task.id, when)
    return queueing.record_attempt(user, task, outcome, when, **kw)


@pytest.mark.parametrize("level", ["ward", "hospital"])
def test_a_death_at_either_level_closes_every_open_task_of_the_person(db, world, person, level):
    caller = world.nurse if level == "ward" else world.centre
    attempt = _dial(caller, person.task(person.first, level), Outcome.DECEASED, note="家属告知")
    db.session.commit()
    mark = db.session.scalar(select(PatientMark))
    assert mark.kind == MarkKind.DECEASED and mark.attempt_id == attempt.id and mark.created_by_id == caller.id
    closed = _all_tasks(db, person.first, person.second, person.in_b)
    assert len(closed) == 6
    assert all(t.status == TaskStatus.CLOSED and t.close_reason == "deceased" and t.close_mark_id == mark.id
               for t in closed)
    assert db.session.get(CallAttempt, mark.attempt_id).task_id == person.task(person.first, level).id
    assert all(t.status == TaskStatus.OPEN for t in _all_tasks(db, person.bystander))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.mark")) is not None


def test_after_a_death_no_later_stay_gets_tasks_by_any_route(db, world, person):
    _dial(world.nurse, person.task(person.first, person.W), Outcome.DECEASED)
    db.session.commit()
    later = another_stay(world, db, person.patient, world.cardiology, person.first.discharge_date.replace(day=25), "ZY000789")
    assert later.tasks == []
    # Re-import: a new stay of the same ID number, in A (known patient) and in B (a new patient row there).
    imported(world, csv_bytes([row(no="NEW-A", name="张林", id_number=ID_MALE, discharged="2026-11-26 10:00")]))
    imported(world, csv_bytes([row(no="NEW-B", name="张林", id_number=ID_MALE, discharged="2026-11-26 10:00")]),
             hospital=world.hospital_b)
    new = db.session.scalars(select(Discharge).where(Discharge.inpatient_no.in_(["NEW-A", "NEW-B"]))).all()
    assert len(new) == 2 and all(d.tasks == [] for d in new)
    # A stranger in the same file still gets both tasks.
    imported(world, csv_bytes([row(no="OTHER", name="王五", id_number="11010519491231002X", sex="女",
                                   born="1949-12-31", discharged="2026-11-26 10:00")]))
    assert len(db.session.scalar(select(Discharge).where(Discharge.inpatient_no == "OTHER")).tasks) == 2


def test_a_head_nurse_undoes_a_death_entered_by_mistake_reopening_what_it_closed(db, world, person):
    _dial(world.nurse, person.task(person.first, person.W), Outcome.DECEASED)
    done_before = person.task(person.second, person.H)
    db.session.commit()
    mark = db.session.scalar(select(PatientMark))
    with pytest.raises(outcomes.MarkError):
        outcomes.lift(world.ortho_nurse, mark.id, "弄错了", at(21, 10))  # not a head nurse
    world.nurse.is_head_nurse = True
    with pytest.raises(outcomes.MarkError):
        outcomes.lift(world.nurse, mark.id, "  ", at(21, 10))  # a reason is required
    reopened = outcomes.lift(world.nurse, mark.id, "录入错误，患者健在", at(21, 10))
    db.session.commit()
    assert len(reopened) == 6
    tasks = _all_tasks(db, person.first, person.second, person.in_b)
    assert all(t.status == TaskStatus.OPEN and t.close_reason is None and t.close_mark_id is None for t in tasks)
    assert done_before.id in reopened and not is_blocked(person.patient)
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.mark_lift"))
    assert ev.user_id == world.nurse.id and ev.detail["kind"] == "deceased"
    assert another_stay(world, db, person.patient, world.cardiology, person.first.discharge_date.replace(day=25),
                        "ZY000790").tasks != []


def test_refusal_of_this_call_only_closes_that_task_and_nothing_else(db, world, person):
    _dial(world.nurse, person.task(person.first, person.W), Outcome.REFUSED)
    db.session.commit()
    tasks = {(t.discharge_id, t.level): t for t in _all_tasks(db, person.first, person.second)}
    assert tasks[(person.first.id, "ward")].close_reason == "refused"
    assert [t.status for k, t in tasks.items() if k != (person.first.id, "ward")] == [TaskStatus.OPEN] * 3
    assert db.session.scalar(select(PatientMark)) is None and not is_blocked(person.patient)


def test_refusal_of_all_follow_up_marks_do_not_call_closes_the_other_level_and_later_stays(db, world, person):
    _dial(world.centre, person.task(person.first, person.H), Outcome.REFUSED, refuse_all=True, note="不要再打了")
    db.session.commit()
    mark = db.session.scalar(select(PatientMark))
    assert (mark.kind, mark.hospital_id, mark.created_by_id, mark.reason) == \
        ("do_not_call", world.hospital_a.id, world.centre.id, "不要再打了")
    a = _all_tasks(db, person.first, person.second)
    own = person.task(person.first, person.H)
    assert own.close_reason == "refused" and own.close_mark_id == mark.id
    assert all(t.status == TaskStatus.CLOSED and t.close_reason == "do_not_call" for t in a if t.id != own.id)
    # per hospital: the same person in B is still called
    assert all(t.status == TaskStatus.OPEN for t in _all_tasks(db, person.in_b))
    assert another_stay(world, db, person.patient, world.cardiology, person.first.discharge_date.replace(day=25),
                        "ZY000791").tasks == []
    # lifted by a named user (the hospital admin): the other tasks reopen, the refused call stays refused
    reopened = outcomes.lift(world.hospital_admin, mark.id, "患者来电同意随访", at(22, 9))
    db.session.commit()
    assert own.id not in reopened and len(reopened) == 3
    assert db.session.get(FollowupTask, own.id).close_reason == "refused"


def test_refuse_all_is_only_a_refusal(db, world, person):
    from followup.calls import Invalid
    task = queueing.claim_task(world.nurse, person.task(person.first, person.W).id, NOW)
    with pytest.raises(Invalid):
        queueing.record_attempt(world.nurse, task, Outcome.NO_ANSWER, NOW, refuse_all=True)


def _mark_do_not_call(db, world, person):
    _dial(world.nurse, person.task(person.first, person.W), Outcome.REFUSED, refuse_all=True)
    db.session.commit()
    return db.session.scalar(select(PatientMark))


def test_a_do_not_call_patient_is_offered_by_no_route(db, world, person, as_user):
    _mark_do_not_call(db, world, person)
    ids = {t.id for t in _all_tasks(db, person.first, person.second)}
    world.centre.is_head_nurse = True
    db.session.commit()
    # next call: only the bystander comes; then nothing
    got = queueing.next_task(world.nurse, NOW)
    assert got.discharge_id == person.bystander.id
    assert queueing.next_task(world.centre, NOW) is None  # the bystander is on the phone with the nurse
    queueing.release_task(world.nurse, got, NOW)
    assert queueing.next_task(world.centre, NOW).discharge_id == person.bystander.id
    assert queueing.next_task(world.ortho_nurse, NOW) is None
    for tid in ids:  # claim by id, assign
        task = db.session.get(FollowupTask, tid)
        caller = world.centre if task.level == "hospital" else \
            world.nurse if task.ward_id == world.cardiology.id else world.ortho_nurse
        with pytest.raises(Conflict):
            queueing.claim_task(caller, tid, NOW)
        if task.level == "hospital":
            with pytest.raises(Conflict):
                queueing.assign_task(world.centre, task, world.centre, NOW)
    db.session.rollback()
    # the queue page and the API list
    page = as_user(world.ortho_nurse).get("/calls/").get_data(as_text=True)
    assert "ZY000456" not in page and "张*" not in page
    api = as_user(world.centre).get("/api/v1/calls/queue").get_json()
    assert ids.isdisjoint({t["id"] for t in api["tasks"]})
    # re-import of the same stays (corrected rows) and of a new stay: nothing reopens or appears
    imported(world, csv_bytes([row(no="ZY000456", name="张林", discharged="2026-11-20 10:00", ward="骨科", id_number=""),
                               row(no="NEWSTAY", name="张林", id_number="371502196005010016",
                                   discharged="2026-11-27 10:00")]))
    new = db.session.scalar(select(Discharge).where(Discharge.inpatient_no == "NEWSTAY"))
    assert new.tasks == [] and all(not t.is_open for t in _all_tasks(db, person.first, person.second))


def test_an_imported_do_not_call_list_matches_any_number_or_the_id_and_blocks_re_import(db, world, person, app):
    from followup.core.crypto import keys
    other = world.discharge(world.cardiology, name="王芳", phone="+8613700000000")
    result = outcomes.import_list(world.hospital_admin,
                                  ["号码", "0635-8273456", "１３７ ００００ ００００", "not a number", ""],
                                  "院长信箱来信", at(21, 8), keys())
    db.session.commit()
    assert (result.marked, result.bad) == (2, ["4"])
    assert result.closed == 6  # 张林 by her landline (second number): 4; 王芳: 2
    assert all(not t.is_open for t in _all_tasks(db, person.first, person.second, other))
    assert all(t.is_open for t in _all_tasks(db, person.in_b, person.bystander))
    again = outcomes.import_list(world.hospital_admin, ["(0635)8273456"], "重复", at(21, 8), keys())
    assert (again.marked, again.already) == (0, 1)
    # by ID number, and a later import of a new patient with a listed number gets no tasks
    outcomes.import_list(world.hospital_admin, ["11010519491231002X"], "来信", at(21, 8), keys())
    db.session.commit()
    imported(world, csv_bytes([row(no="L1", name="赵敏", id_number="11010519491231002X", sex="女", born="1949-12-31",
                                   discharged="2026-11-26 10:00"),
                               row(no="L2", name="钱七", id_number="", phone="13700000000",
                                   discharged="2026-11-26 10:00"),
                               row(no="L3", name="孙八", id_number="", phone="13911112222;0635-8273456",
                                   discharged="2026-11-26 10:00")]))
    got = {d.inpatient_no: d for d in db.session.scalars(select(Discharge).where(Discharge.inpatient_no.like("L%")))}
    assert len(got) == 3
    assert [t for t in got["L1"].tasks + got["L2"].tasks] == []
    assert all(not t.is_open for t in got["L3"].tasks)  # listed by its second number: closed as do-not-call


def test_the_marks_page_shows_masked_marks_and_lifts_with_a_reason(db, world, person, as_user):
    _mark_do_not_call(db, world, person)
    admin = as_user(world.hospital_admin)
    page = admin.get("/patients/marks/").get_data(as_text=True)
    assert "张*" in page and "张林" not in page
    mark = db.session.scalar(select(PatientMark))
    assert admin.post(f"/patients/marks/{mark.id}/lift", data={"reason": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PatientMark, mark.id).lifted_at is None
    admin.post(f"/patients/marks/{mark.id}/lift", data={"reason": "患者同意"})
    db.session.expire_all()
    assert db.session.get(PatientMark, mark.id).lifted_by_id == world.hospital_admin.id
    resp = admin.post("/patients/marks/import", data={"numbers": "13015413970", "reason": "来信"})
    assert resp.status_code == 302
    assert db.session.scalar(select(PatientMark).where(PatientMark.source == "list")).shown_as == "130****3970"
    assert as_user(world.nurse).get("/patients/marks/").status_code == 404


def test_a_listed_line_blocks_a_patient_reached_through_it_by_extension_and_a_listed_extension_only_that(db, world):
    """Calling 0635-8273456 转 123 dials 0635-8273456: a do-not-call on the line covers it. A listed
    extension covers that extension, not the line's other extensions."""
    from followup.core.crypto import keys
    imported(world, csv_bytes([row(no="X1", name="王芳", id_number="", phone="0635-8273456 转 123"),
                               row(no="X2", name="赵敏", id_number="", phone="0635-8270001-88"),
                               row(no="X3", name="钱七", id_number="", phone="0635-8270001-89")]))
    stays = {d.inpatient_no: d for d in db.session.scalars(select(Discharge).where(Discharge.inpatient_no.like("X%")))}
    result = outcomes.import_list(world.hospital_admin, ["0635-8273456", "0635-8270001-88"], "来信", at(21, 8), keys())
    db.session.commit()
    assert result.marked == 2
    assert is_blocked(stays["X1"].patient) and is_blocked(stays["X2"].patient)
    assert not is_blocked(stays["X3"].patient)
    assert all(not t.is_open for t in _all_tasks(db, stays["X1"], stays["X2"]))
    assert all(t.is_open for t in _all_tasks(db, stays["X3"]))
