"""Saving the two follow-up forms: validation with field errors, nothing half-saved, opinions
kept verbatim, complaints on the ledger, red flags raised."""
import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from followup.calls import records
from followup.models import TaskStatus
from followup.models.alert import RedFlagAlert
from followup.models.call import CallAttempt, HospitalFollowup, WardFollowup
from followup.models.opinion import Opinion, RectificationItem

from .conftest import NOW, hospital_data, ward_data


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def _nothing_written(db, task):
    db.session.rollback()
    assert [_count(db, m) for m in (WardFollowup, HospitalFollowup, Opinion, RectificationItem, CallAttempt, RedFlagAlert)] == [0] * 6
    assert db.session.get(type(task), task.id).status == TaskStatus.CLAIMED


def test_ward_form_bad_input_names_each_field_and_saves_nothing(world, db, claimed):
    ward_task, _ = claimed
    bad = ward_data(condition="fine", next_visit_date="2026-11-01", red_flag=True, surprise="x",
                    medication_adherence=[{"medicine": "阿司匹林肠溶片 100mg 每日一次"}],
                    guidance={"diet": {"given": True, "choices": ["chocolate"]}})
    with pytest.raises(ValidationError) as exc:
        records.save_ward_followup(world.nurse, ward_task, bad, NOW)
    errors = exc.value.messages
    assert errors["condition"] == ["Choose one of the listed values."]
    assert errors["surprise"] == ["Unknown field."]
    assert errors["next_visit_date"] == ["The next visit cannot be in the past."]
    assert errors["red_flag_note"] == ["Say what the doctor must know."]
    assert errors["medication_adherence"][0]["as_prescribed"] == ["Say whether it is taken as prescribed."]
    assert errors["guidance"]["diet"]["choices"] == ["Choose one of the listed values."]
    _nothing_written(db, ward_task)


def test_ward_form_needs_an_answer_for_every_discharge_medicine(world, db, claimed):
    ward_task, _ = claimed
    with pytest.raises(ValidationError) as exc:
        records.save_ward_followup(world.nurse, ward_task, ward_data(medication_adherence=[]), NOW)
    assert exc.value.messages["medication_adherence"] == ["Answer for each discharge medicine."]
    _nothing_written(db, ward_task)


def test_ward_form_needs_some_guidance(world, db, claimed):
    ward_task, _ = claimed
    with pytest.raises(ValidationError) as exc:
        records.save_ward_followup(world.nurse, ward_task, ward_data(guidance={}), NOW)
    assert exc.value.messages["guidance"] == {"_schema": ["Record the guidance given on the call."]}


def test_hospital_form_bad_scores_and_opinions_are_field_errors_and_nothing_is_saved(world, db, claimed):
    _, hospital_task = claimed
    bad = hospital_data(sat_overall=None, sat_cost=6, opinions=[
        {"text": "   ", "sentiment": "complaint", "category": "cost", "ward_id": world.cardiology.id},
        {"text": "收费不清楚", "sentiment": "complaint", "category": "cost"},
        {"text": "别的医院", "sentiment": "praise", "category": "other", "ward_id": world.ward_b.id}])
    with pytest.raises(ValidationError) as exc:
        records.save_hospital_followup(world.centre, hospital_task, bad, NOW)
    errors = exc.value.messages
    assert errors["sat_overall"] == ["Field may not be null."]
    assert errors["sat_cost"] == ["Choose a score from 1 to 5."]
    assert errors["opinions"][0]["text"] == ["Write down what the patient said."]
    assert errors["opinions"][1]["ward_id"] == ["A complaint must name the department concerned."]
    assert errors["opinions"][2]["ward_id"] == ["Choose a department of this hospital."]
    _nothing_written(db, hospital_task)


def test_ward_form_saves_the_record_and_completes_the_task(world, db, claimed):
    ward_task, _ = claimed
    rec = records.save_ward_followup(world.nurse, ward_task, ward_data(), NOW)
    db.session.commit()
    assert rec.condition == "improved" and rec.medication_adherence[1]["as_prescribed"] is False
    assert rec.guidance["diet"] == {"given": True, "choices": ["low_salt_fat"], "text": "每日盐少于5克"}
    assert rec.guidance["rehab"]["given"] is False
    assert ward_task.status == TaskStatus.DONE and ward_task.claimed_by_id is None
    answered = db.session.get(CallAttempt, rec.attempt_id)
    assert answered.outcome == "answered" and answered.caller_id == world.nurse.id
    assert _count(db, RedFlagAlert) == 0


def test_red_flag_raises_an_alert_for_the_ward_naming_the_attending_doctor(world, db, claimed):
    ward_task, _ = claimed
    records.save_ward_followup(world.nurse, ward_task, ward_data(red_flag=True, red_flag_note="胸闷气短三天"), NOW)
    db.session.commit()
    alert = db.session.scalar(select(RedFlagAlert))
    assert (alert.ward_id, alert.doctor, alert.note, alert.acknowledged_at) == (world.cardiology.id, "王建国", "胸闷气短三天", None)


def test_complaint_opens_a_ledger_item_and_keeps_the_patients_words(world, db, claimed):
    _, hospital_task = claimed
    words = "  护士夜里态度很差，<b>叫了三次</b>没人来 {patient_name}\n第二行  "
    rec = records.save_hospital_followup(world.centre, hospital_task, hospital_data(opinions=[
        {"text": words, "sentiment": "complaint", "category": "service_attitude", "ward_id": world.cardiology.id},
        {"text": "王医生很耐心", "sentiment": "praise", "category": "medical_quality", "ward_id": world.cardiology.id},
        {"text": "停车难", "sentiment": "suggestion", "category": "parking_access"}]), NOW)
    db.session.commit()
    assert (rec.complaint, rec.praise, rec.sat_cost) == (True, True, 2)
    opinions = db.session.scalars(select(Opinion).order_by(Opinion.id)).all()
    assert [o.text for o in opinions] == [words, "王医生很耐心", "停车难"]
    assert opinions[0].original_category == "service_attitude" and opinions[0].source == "hospital_call"
    items = db.session.scalars(select(RectificationItem).order_by(RectificationItem.id)).all()
    # praise and suggestions are not put on the ledger automatically; the cost rating of 2 is
    # (好差评, rectification/complaints.py), on its own item
    assert [i.source for i in items] == ["complaint", "rating"]
    assert (items[0].opinion_id, items[0].ward_id, items[0].problem, items[0].source) == \
        (opinions[0].id, world.cardiology.id, words, "complaint")
    assert hospital_task.status == TaskStatus.DONE


def test_a_ward_call_may_record_a_complaint_too(world, db, claimed):
    ward_task, _ = claimed
    records.save_ward_followup(world.nurse, ward_task, ward_data(opinions=[
        {"text": "出院结算排队两小时", "sentiment": "complaint", "category": "waiting_process", "ward_id": world.orthopaedics.id}]), NOW)
    db.session.commit()
    op = db.session.scalar(select(Opinion))
    assert op.source == "ward_call" and db.session.scalar(select(RectificationItem.ward_id)) == world.orthopaedics.id


def test_only_the_claim_holder_can_save(world, db, claimed):
    from followup.calls import Conflict
    ward_task, _ = claimed
    with pytest.raises(Conflict):
        records.save_ward_followup(world.ortho_nurse, ward_task, ward_data(), NOW)
    _nothing_written(db, ward_task)
