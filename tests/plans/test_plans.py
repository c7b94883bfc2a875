"""Follow-up plans (issue 13 item 6): plans create exactly the right tasks at import, for past
discharges within their window, never twice; a review date makes a reminder the day before; the
mandatory tasks never change; plan tasks are worked in the same queues with the plan's form."""
from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from marshmallow import ValidationError
from sqlalchemy import func, select

from followup.calls import queueing, readback, records
from followup.core.access import hospital_ids_select
from followup.core.clock import LOCAL_TZ, local_midnight
from followup.models import Discharge, FollowupTask
from followup.models.plan import PlanRecord
from followup.plans import define
from followup.reports import rates
from tests.import_files import csv_bytes, imported, row

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW.astimezone(timezone.utc), tick=False):
        yield NOW


def _plans(world, db):
    hf, _ = define.create_plan(world.hospital_admin, {
        "name": "心衰随访", "icd_prefix": "I50", "days": "3, 30", "deadline_days": 2,
        "fields": ["symptoms", "vitals", "medication_adherence", "next_visit_date"],
        "script": "您好，{patient_name}，心衰术后随访"}, NOW)
    surgery, _ = define.create_plan(world.hospital_admin, {
        "name": "骨科术后", "ward_id": world.orthopaedics.id, "days": "1", "deadline_days": 1,
        "fields": ["wound", "free_text"]}, NOW)
    db.session.commit()
    return hf, surgery


def _plan_tasks(db):
    rows = db.session.execute(select(Discharge.inpatient_no, FollowupTask.plan_id, FollowupTask.plan_day,
                                     FollowupTask.level, FollowupTask.due_at, FollowupTask.next_attempt_at)
                              .join(Discharge).where(FollowupTask.kind == "plan")).all()
    return {(no, plan, day): (level, due, start) for no, plan, day, level, due, start in rows}


def _mandatory(db):
    return sorted(db.session.execute(select(FollowupTask.id, FollowupTask.discharge_id, FollowupTask.level,
                                            FollowupTask.due_at, FollowupTask.status, FollowupTask.version)
                                     .where(FollowupTask.kind == "mandatory")).all())


def _with_code(world, db, code, **kw):
    d = world.discharge(world.cardiology, **kw)
    d.diagnosis_code = code
    db.session.commit()
    return d


def _m(d: date):
    return local_midnight(d)


FILE = [row(no="A", code="I50.901", discharged="2026-11-19 09:00"),
        row(no="B", ward="骨科", code="S72.001", discharged="2026-11-19 15:00", id_number=""),
        row(no="C", code="I10.x00", discharged="2026-11-19", id_number=""),
        row(no="D", ward="骨科", code="I50.0", discharged="2026-11-18", id_number=""),
        row(no="E", code="I50.1", discharged="2026-11-19", disposition="死亡", id_number=""),
        row(no="F", code="I50.9", discharged="2026-11-10", id_number="")]


def test_import_creates_exactly_the_plan_steps_within_their_window_and_a_reimport_adds_none(world, db, frozen):
    hf, surgery = _plans(world, db)
    imported(world, csv_bytes(FILE))
    expected = {
        ("A", hf.id, 3): ("ward", _m(date(2026, 11, 25)), _m(date(2026, 11, 22))),
        ("A", hf.id, 30): ("ward", _m(date(2026, 12, 22)), _m(date(2026, 12, 19))),
        ("B", surgery.id, 1): ("ward", _m(date(2026, 11, 22)), None),  # target day today: callable now
        ("D", hf.id, 3): ("ward", _m(date(2026, 11, 24)), _m(date(2026, 11, 21))),
        ("D", hf.id, 30): ("ward", _m(date(2026, 12, 21)), _m(date(2026, 12, 18))),
        # D's T+1 (19 Nov) is due at the end of 20 Nov: still within its window, callable now
        ("D", surgery.id, 1): ("ward", _m(date(2026, 11, 21)), None),
        # F (10 Nov): T+3 was due by 15 Nov, past: never made; T+30 is
        ("F", hf.id, 30): ("ward", _m(date(2026, 12, 13)), _m(date(2026, 12, 10))),
    }
    assert _plan_tasks(db) == expected
    # the two mandatory calls are exactly as without plans: 5 eligible stays × 2, 7-day rule
    mandatory = _mandatory(db)
    assert len(mandatory) == 10
    assert all(due == _m(db.session.get(Discharge, d).discharge_date + timedelta(days=8))
               for _id, d, _lv, due, _st, _v in mandatory)
    reexport = csv_bytes(list(reversed(FILE)), encoding="gb18030", newline="\n")
    imported(world, reexport)
    assert _plan_tasks(db) == expected and _mandatory(db) == mandatory


def test_a_new_plan_reaches_back_to_past_discharges_within_its_window_only(world, db, frozen):
    d_old = world.discharge(world.cardiology, discharged=date(2026, 11, 1))
    d_mid = world.discharge(world.cardiology, discharged=date(2026, 11, 14))
    d_new = world.discharge(world.cardiology, discharged=date(2026, 11, 19))
    world.discharge(world.cardiology, discharged=date(2026, 11, 19), disposition="5")
    world.discharge(world.ward_b, discharged=date(2026, 11, 19))  # another hospital
    before = _mandatory(db)
    plan, made = define.create_plan(world.hospital_admin, {
        "name": "心内科", "ward_id": world.cardiology.id, "days": "1,7", "deadline_days": 2, "fields": ["free_text"]}, NOW)
    db.session.commit()
    got = _plan_tasks(db)
    # T+1 due by the end of T+3; T+7 by the end of T+9 (both after 20 Nov 10:00 only for recent stays)
    assert got == {
        (d_mid.inpatient_no, plan.id, 7): ("ward", _m(date(2026, 11, 24)), _m(date(2026, 11, 21))),
        (d_new.inpatient_no, plan.id, 1): ("ward", _m(date(2026, 11, 23)), None),
        (d_new.inpatient_no, plan.id, 7): ("ward", _m(date(2026, 11, 29)), _m(date(2026, 11, 26))),
    }
    assert made == 3 and d_old.inpatient_no not in {k[0] for k in got}
    define.set_active(world.hospital_admin, plan, False, NOW)
    define.set_active(world.hospital_admin, plan, True, NOW)  # switching back on adds nothing twice
    db.session.commit()
    assert _plan_tasks(db) == got and _mandatory(db) == before


def test_a_plan_needs_a_department_or_a_diagnosis_and_valid_days(world, db):
    with pytest.raises(ValidationError) as exc:
        define.create_plan(world.hospital_admin, {"name": "x", "days": "0,abc", "fields": [],
                                                  "script": "{phone}"}, NOW)
    assert exc.value.messages == {
        "_schema": ["Choose a department or a diagnosis code prefix (or both)."],
        "days": ["Days after discharge, such as 3,30 (1 to 365)."],
        "fields": ["Choose at least one field for the form."],
        "script": ["Unknown placeholder. Use {patient_name}, {discharge_date}, {department} or {doctor}."]}
    with pytest.raises(ValidationError) as exc:
        define.create_plan(world.hospital_admin, {"name": "x", "ward_id": world.ward_b.id, "days": "3",
                                                  "fields": ["wound"]}, NOW)
    assert exc.value.messages == {"ward_id": ["Choose a department of this hospital."]}


def test_plan_tasks_are_called_from_the_same_queue_with_the_plans_form_and_counted_per_plan(world, db, frozen):
    hf, _ = _plans(world, db)
    d = _with_code(world, db, "I50.901", discharged=date(2026, 11, 16), medicines="呋塞米片 20mg 每日一次")
    from followup.plans.tasks import backfill
    backfill(hf, NOW)  # the world's discharges skip the import, where plans run
    for t in d.tasks:  # the mandatory calls are done: only the plan calls are left in the queue
        if t.kind == "mandatory":
            t.status = "done"
    db.session.commit()
    task = queueing.next_task(world.nurse, NOW)
    assert (task.kind, task.plan_id, task.plan_day) == ("plan", hf.id, 3)  # 19 Nov: callable
    assert queueing.next_task(world.centre, NOW) is None  # the centre's queue has no ward-level plan
    with pytest.raises(ValidationError) as exc:
        records.save_followup(world.nurse, task, {"symptoms": {"text": ""}}, NOW)
    assert exc.value.messages["symptoms"] == {"present": ["Tick the symptoms, or No symptoms."]}
    assert exc.value.messages["medication_adherence"] == ["Answer for each discharge medicine."]
    rec = records.save_followup(world.nurse, task, {
        "symptoms": {"present": ["breathless", "oedema"], "text": "夜间不能平卧"},
        "vitals": {"systolic": 150, "heart_rate": 96, "weight_kg": 71.5},
        "medication_adherence": [{"medicine": "呋塞米片 20mg 每日一次", "as_prescribed": True}],
        "next_visit_date": "2026-11-27", "respondent": "family", "respondent_relation": "儿子",
        "duration_seconds": 300}, NOW)
    db.session.commit()
    assert isinstance(rec, PlanRecord) and task.status == "done"
    assert rec.answers["symptoms"] == {"present": ["breathless", "oedema"], "text": "夜间不能平卧"}
    assert rec.answers["vitals"]["weight_kg"] == 71.5 and rec.next_visit_date == date(2026, 11, 27)
    # the review date made a reminder for 26 Nov
    reminder = db.session.scalar(select(FollowupTask).where(FollowupTask.kind == "review"))
    assert (reminder.discharge_id, reminder.due_at, reminder.next_attempt_at, reminder.level) == \
        (d.id, _m(date(2026, 11, 27)), _m(date(2026, 11, 26)), "ward")
    back = {c["id"]: c for c in readback.discharge_calls(world.nurse, d)}[task.id]
    assert back["plan"] == {"id": hf.id, "name": "心衰随访", "day": 3}
    assert back["record"]["answers"]["symptoms"]["present"] == ["breathless", "oedema"]
    figures = rates.plan_rates(hospital_ids_select(world.qa), date(2026, 11, 1), date(2026, 12, 1), now=NOW)
    assert figures[hf.id]["eligible"] == 2 and figures[hf.id]["reached"] == 1
    assert figures[hf.id]["not_yet_due"] == 1 and figures[hf.id]["followup_rate"] == 1.0
    assert figures["review"]["not_yet_due"] == 1


def test_a_review_date_makes_one_reminder_the_day_before_moved_by_a_later_date(world, db, frozen):
    d = world.discharge(world.cardiology, discharged=date(2026, 11, 18))
    from followup.plans.tasks import review_reminder
    assert review_reminder(d, date(2026, 11, 20), NOW) is None  # today: too late to remind
    first = review_reminder(d, date(2026, 11, 21), NOW)  # tomorrow: callable now, due tonight
    assert (first.due_at, first.next_attempt_at) == (_m(date(2026, 11, 21)), None)
    moved = review_reminder(d, date(2026, 12, 4), NOW)
    assert moved.id == first.id and (moved.due_at, moved.next_attempt_at) == (_m(date(2026, 12, 4)), _m(date(2026, 12, 3)))
    assert db.session.scalar(select(func.count()).select_from(FollowupTask).where(FollowupTask.kind == "review")) == 1


def test_the_plans_page_is_the_hospital_admins_and_saves_a_plan(world, db, as_user, frozen):
    _with_code(world, db, "I50.1", discharged=date(2026, 11, 19))
    admin = as_user(world.hospital_admin)
    page = admin.get("/plans/")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    bad = admin.post("/plans/", data={"csrf_token": token, "name": "x", "days": "3"})
    assert bad.status_code == 422
    ok = admin.post("/plans/", data={"csrf_token": token, "name": "心衰", "icd_prefix": "i50", "days": "3,30",
                                     "deadline_days": "2", "fields": ["symptoms", "vitals"]})
    assert ok.status_code == 302
    assert len(_plan_tasks(db)) == 2
    body = admin.get("/plans/").get_data(as_text=True)
    assert "心衰" in body and "I50*" in body
    for user in (world.nurse, world.qa, world.centre, world.city_auditor):
        assert as_user(user).get("/plans/").status_code == 404


def test_a_do_not_call_or_deceased_patient_gets_no_plan_task(world, db, frozen):
    from followup.models.outcome import MarkKind, PatientMark
    refuser = world.discharge(world.cardiology, discharged=date(2026, 11, 19))
    died = world.discharge(world.cardiology, discharged=date(2026, 11, 19))
    other = world.discharge(world.cardiology, discharged=date(2026, 11, 19))
    db.session.add_all([
        PatientMark(hospital_id=world.hospital_a.id, kind=MarkKind.DO_NOT_CALL, patient_id=refuser.patient_id),
        PatientMark(hospital_id=world.hospital_a.id, kind=MarkKind.DECEASED, patient_id=died.patient_id)])
    db.session.commit()
    plan, made = define.create_plan(world.hospital_admin, {
        "name": "心内科", "ward_id": world.cardiology.id, "days": "1", "deadline_days": 2,
        "fields": ["free_text"]}, NOW)
    db.session.commit()
    assert {k[0] for k in _plan_tasks(db)} == {other.inpatient_no} and made == 1
