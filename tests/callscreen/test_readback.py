"""A finished call read back (issue 13 item 4): the discharge page and the API show every dial
and every saved form field, who answered and the call's duration, within each viewer's scope,
opinions verbatim only for callers and QA, and each view is logged."""
import html
from datetime import timedelta

from sqlalchemy import select

from followup.calls import queueing, records
from followup.models import AuditEvent
from followup.models.call import HospitalFollowup
from followup.reports import rates

from .conftest import NOW, hospital_data, ward_data

WORDS = "出院结账排了两个小时，<b>没人管</b>"


def _finished_calls(world, db, claimed):
    """Both levels called: the ward level after a no-answer, answered by the daughter, 3.5
    minutes; the hospital level answered by the patient, duration from the phone system."""
    ward_task, hospital_task = claimed
    queueing.record_attempt(world.nurse, ward_task, "no_answer", NOW - timedelta(days=1), note="响铃无人接")
    queueing.claim_task(world.nurse, ward_task.id, NOW)
    records.save_ward_followup(world.nurse, ward_task, ward_data(
        respondent="family", respondent_relation="女儿", duration_seconds=210,
        red_flag=True, red_flag_note="胸闷气短三天",
        guidance={"medication": {"choices": ["on_time_dose", "no_self_stop"]},
                  "rehab": {"text": "每天散步30分钟"}, "diet": {"choices": ["low_salt_fat"], "text": "每日盐少于5克"}},
        notes="女儿代答"), NOW)
    records.save_hospital_followup(world.centre, hospital_task, hospital_data(
        duration_seconds=95, duration_source="phone_system",
        opinions=[{"text": WORDS, "sentiment": "complaint", "category": "waiting_process",
                   "ward_id": world.cardiology.id}]), NOW)
    db.session.commit()
    return ward_task, hospital_task


def test_the_discharge_page_reads_back_every_field_of_the_ward_form(world, db, claimed, as_user, frozen):
    ward_task, _ = _finished_calls(world, db, claimed)
    body = as_user(world.nurse).get(f"/discharges/{ward_task.discharge_id}").get_data(as_text=True)
    text = html.unescape(body)
    for expected in ("响铃无人接", world.nurse.display_name, "女儿", "3:30",
                     "阿司匹林肠溶片 100mg 每日一次", "苯磺酸氨氯地平片 5mg 每日一次", "忘记服用两次",
                     "每天散步30分钟", "每日盐少于5克", "2026-12-01", "胸闷气短三天", "女儿代答"):
        assert expected in text, expected
    # the guidance choices and the condition are shown as words, not codes
    assert "on_time_dose" not in text and "improved" not in text
    # the hospital-level record is the centre's: the ward nurse sees its status only
    assert "3:30" in text and "1:35" not in text and WORDS not in text


def test_the_centre_and_qa_read_the_hospital_record_with_the_words_verbatim(world, db, claimed, as_user, frozen):
    ward_task, _ = _finished_calls(world, db, claimed)
    for user in (world.centre, world.qa):
        body = as_user(user).get(f"/discharges/{ward_task.discharge_id}").get_data(as_text=True)
        assert html.escape(WORDS) in body and "<b>没人管</b>" not in body, user.username
        assert "1:35" in body, user.username
    admin = as_user(world.hospital_admin).get(f"/discharges/{ward_task.discharge_id}").get_data(as_text=True)
    assert html.escape(WORDS) not in admin and "1:35" in admin and "3:30" in admin


def test_the_api_returns_every_saved_field_and_logs_the_view(world, db, claimed, as_user, frozen):
    ward_task, hospital_task = _finished_calls(world, db, claimed)
    resp = as_user(world.qa).get(f"/api/v1/records/discharges/{ward_task.discharge_id}/calls")
    assert resp.status_code == 200, resp.json
    calls = {(c["kind"], c["level"]): c for c in resp.json["calls"]}
    ward, hosp = calls[("mandatory", "ward")], calls[("mandatory", "hospital")]
    # the review date on the ward form made a reminder for the day before the visit
    assert (calls[("review", "ward")]["status"], calls[("review", "ward")]["last_day"]) == ("open", "2026-11-30")
    assert [a["outcome"] for a in ward["attempts"]] == ["no_answer", "answered"]
    assert ward["attempts"][0]["note"] == "响铃无人接" and ward["attempts"][0]["caller"] == world.nurse.display_name
    r = ward["record"]
    assert (r["respondent"], r["respondent_relation"], r["duration_seconds"], r["duration_source"]) == \
        ("family", "女儿", 210, "caller")
    assert r["condition"] == "improved" and r["next_visit_date"] == "2026-12-01"
    assert r["medication_adherence"][1] == {"medicine": "苯磺酸氨氯地平片 5mg 每日一次", "as_prescribed": False,
                                            "note": "忘记服用两次"}
    assert r["guidance"]["medication"]["choices"] == ["on_time_dose", "no_self_stop"]
    assert r["guidance"]["rehab"] == {"given": True, "choices": [], "text": "每天散步30分钟"}
    assert r["guidance"]["self_care"]["given"] is False
    assert (r["red_flag"], r["red_flag_note"], r["notes"]) == (True, "胸闷气短三天", "女儿代答")
    h = hosp["record"]
    assert (h["respondent"], h["duration_seconds"], h["duration_source"], h["counts_in_satisfaction"]) == \
        ("patient", 95, "phone_system", True)
    assert h["satisfaction"] == {"overall": 4, "doctors": 5, "nurses": 5, "environment": 3, "cost": 2, "process": 4}
    assert hosp["opinions"] == [{"text": WORDS, "sentiment": "complaint", "category": "waiting_process", "ward": "心内科"}]
    # a nurse's API view: her ward's record, the hospital level as status only
    nurse = as_user(world.nurse).get(f"/api/v1/records/discharges/{ward_task.discharge_id}/calls").json
    assert {(c["kind"], c["level"]): c["detail"] for c in nurse["calls"]} == {
        ("mandatory", "ward"): True, ("mandatory", "hospital"): False, ("review", "ward"): True}
    assert "record" not in next(c for c in nurse["calls"] if c["level"] == "hospital")
    # another hospital's nurse: 404, as if it did not exist
    assert as_user(world.nurse_b).get(f"/api/v1/records/discharges/{ward_task.discharge_id}/calls").status_code == 404
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "discharge.view",
                                                        AuditEvent.object_id == ward_task.discharge_id)).all()
    assert len(views) == 2 and {v.user_id for v in views} == {world.qa.id, world.nurse.id}


def test_a_family_members_scores_never_count_in_satisfaction(world, db, claimed):
    _, hospital_task = claimed
    records.save_hospital_followup(world.centre, hospital_task, hospital_data(
        sat_overall=1, respondent="family", respondent_relation="老伴"), NOW)
    db.session.commit()
    assert db.session.scalar(select(HospitalFollowup.sat_overall)) == 1  # kept and read back ...
    from followup.core.access import hospital_ids_select
    got = rates.satisfaction(hospital_ids_select(world.qa), NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert got == {}  # ... but not counted: the patient did not answer


def test_a_family_answer_needs_the_relation_and_a_duration_must_be_plausible(world, db, claimed):
    import pytest
    from marshmallow import ValidationError
    ward_task, _ = claimed
    with pytest.raises(ValidationError) as exc:
        records.save_ward_followup(world.nurse, ward_task, ward_data(respondent="family", duration_seconds=-5), NOW)
    assert exc.value.messages == {"respondent_relation": ["Say how the family member is related to the patient."],
                                  "duration_seconds": ["Not a valid call duration."]}


def test_the_call_screen_form_records_who_answered_and_minutes(world, db, claimed, as_user, frozen):
    ward_task, _ = claimed
    form = {"condition": "improved", "medication_adherence.0.medicine": "阿司匹林肠溶片 100mg 每日一次",
            "medication_adherence.0.as_prescribed": "true", "medication_adherence.1.medicine": "苯磺酸氨氯地平片 5mg 每日一次",
            "medication_adherence.1.as_prescribed": "true", "guidance.diet.choices": "low_salt_fat",
            "respondent": "other", "respondent_relation": "邻居", "duration_minutes": "2.5"}
    client = as_user(world.nurse)
    page = client.get(f"/calls/{ward_task.id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post(f"/calls/{ward_task.id}/record", data={**form, "csrf_token": token})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    from followup.models.call import WardFollowup
    rec = db.session.scalar(select(WardFollowup))
    assert (rec.respondent, rec.respondent_relation, rec.duration_seconds, rec.duration_source) == \
        ("other", "邻居", 150, "caller")
