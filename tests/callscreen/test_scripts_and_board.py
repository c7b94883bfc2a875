"""Call scripts filled safely, the admin's script page, the head nurse's board and red flags."""
import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from followup.calls import NotAllowed, alerts, records
from followup.calls.scripts import render_script, save_script, script_text
from followup.models.alert import RedFlagAlert

from .conftest import NOW, ward_data

HOSTILE = "{{ config }}{% print(7*7) %}<script>alert(1)</script>"  # fits a 64-char name


def test_placeholders_are_filled_by_plain_substitution():
    body = "您好{patient_name}，{department}{doctor}医生，{discharge_date}出院。{{ 7*7 }} {patient_name.__class__} {0} {unknown}"
    out = render_script(body, {"patient_name": HOSTILE, "department": "心内科", "doctor": "王建国", "discharge_date": "2026-11-20"})
    assert out == ("您好" + HOSTILE + "，心内科王建国医生，2026-11-20出院。{{ 7*7 }} {patient_name.__class__} {0} {unknown}")


def test_hostile_patient_name_and_script_are_shown_as_text_on_the_call_screen(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    save_script(world.hospital_admin, {"level": "ward", "body": "{{ config.SECRET_KEY }} 您好 {patient_name}"}, NOW)
    ward_task.discharge.patient.name = HOSTILE
    db.session.commit()
    assert script_text(ward_task) == "{{ config.SECRET_KEY }} 您好 " + HOSTILE
    page = as_user(world.nurse).get(f"/calls/{ward_task.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "test-secret-key" not in page and "{% print(7*7) %}" in page


def test_a_department_script_wins_over_the_hospital_default(world, db, claimed):
    ward_task, _ = claimed
    save_script(world.hospital_admin, {"level": "ward", "body": "默认 {patient_name}"}, NOW)
    save_script(world.hospital_admin, {"level": "ward", "ward_id": world.cardiology.id, "body": "心内科 {doctor}"}, NOW)
    assert script_text(ward_task) == "心内科 王建国"


def test_a_script_with_an_unknown_placeholder_or_another_hospitals_ward_is_refused(world, db):
    with pytest.raises(ValidationError) as exc:
        save_script(world.hospital_admin, {"level": "ward", "body": "您好 {name}"}, NOW)
    assert exc.value.messages["body"][1] == "{name}"
    with pytest.raises(ValidationError) as exc:
        save_script(world.hospital_admin, {"level": "ward", "ward_id": world.ward_b.id, "body": "x"}, NOW)
    assert "ward_id" in exc.value.messages


def test_only_the_hospital_admin_edits_scripts(world, as_user, frozen):
    assert as_user(world.nurse).get("/calls/scripts/").status_code == 404
    client = as_user(world.hospital_admin)
    assert client.get("/calls/scripts/").status_code == 200
    resp = client.post("/calls/scripts/edit", data={"level": "hospital", "body": "您好 {patient_name}", "title": "院级"})
    assert resp.status_code == 302
    assert client.post("/calls/scripts/edit", data={"level": "hospital", "body": "{bad}"}).status_code == 422


@pytest.fixture
def head_nurse(world, db):
    world.nurse.is_head_nurse = True
    db.session.commit()
    return world.nurse


def test_the_board_is_for_head_nurses_and_assigns_to_a_named_caller(world, db, as_user, claimed, head_nurse, frozen):
    from datetime import date
    from followup.models import Level
    d = world.discharge(world.cardiology, discharged=date(2026, 11, 15))  # due 23 Nov: overdue at NOW
    task = next(t for t in d.tasks if t.level == Level.WARD)
    assert as_user(world.ortho_nurse).get("/calls/board/").status_code == 404
    client = as_user(head_nurse)
    page = client.get("/calls/board/?section=overdue").get_data(as_text=True)
    assert d.inpatient_no in page and "张三" not in page  # masked on the board
    from followup.security.users import create_user
    from followup.models import Role
    caller = create_user("nurse_a3", world.PASSWORD, Role.NURSE, hospital_code="HA", ward_codes=["XNK"])
    db.session.commit()
    assert client.post(f"/calls/board/{task.id}/assign", data={"caller_id": caller.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(task), task.id).assigned_to_id == caller.id
    # a caller from another ward cannot be given the task
    client.post(f"/calls/board/{task.id}/assign", data={"caller_id": world.ortho_nurse.id})
    db.session.expire_all()
    assert db.session.get(type(task), task.id).assigned_to_id == caller.id


def test_red_flag_stays_up_for_the_wards_nurses_until_acknowledged(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    records.save_ward_followup(world.nurse, ward_task, ward_data(red_flag=True, red_flag_note="胸痛加重"), NOW)
    db.session.commit()
    assert [a.note for a in alerts.open_alerts(world.nurse)] == ["胸痛加重"]
    assert alerts.open_alerts(world.ortho_nurse) == [] and alerts.open_alerts(world.nurse_b) == []
    assert "胸痛加重" in as_user(world.nurse).get("/calls/").get_data(as_text=True)
    alert = db.session.scalar(select(RedFlagAlert))
    with pytest.raises(NotAllowed):
        alerts.acknowledge(world.qa, alert.id, "x", NOW)
    assert as_user(world.nurse_b).post(f"/calls/alerts/{alert.id}/ack", data={"ack_note": "x"}).status_code == 404
    as_user(world.nurse).post(f"/calls/alerts/{alert.id}/ack", data={"ack_note": "已告知王建国医生"})
    db.session.expire_all()
    assert alerts.open_alerts(world.nurse) == []
    assert db.session.get(RedFlagAlert, alert.id).ack_note == "已告知王建国医生"


def test_the_script_says_the_discharge_date_as_it_is_spoken():
    from datetime import date
    from types import SimpleNamespace
    from followup.calls.scripts import values_for
    d = SimpleNamespace(patient=SimpleNamespace(name="张林"), discharge_date=date(2026, 11, 3),
                        ward=SimpleNamespace(name="心内科"), attending_doctor="王建国")
    task = SimpleNamespace(discharge=d)
    assert values_for(task, locale="zh_Hans_CN")["discharge_date"] == "11月3日"
    assert values_for(task, locale="en")["discharge_date"] == "Nov 3"
