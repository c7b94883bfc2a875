"""Who may see what: scope filters, 404 outside the scope, masking, and logged reveals."""
import pytest
from sqlalchemy import select

from followup.core.access import discharge_filter, mask_id_number, mask_name, mask_phone, task_filter
from followup.models import AuditEvent, Discharge, FollowupTask


def _visible(db, user):
    return set(db.session.scalars(select(Discharge.id).where(discharge_filter(user))))


def test_nurse_sees_only_her_wards_and_centre_only_its_hospital(world, db):
    own = world.discharge(world.cardiology)
    other_ward = world.discharge(world.orthopaedics)
    other_hospital = world.discharge(world.ward_b)
    assert _visible(db, world.nurse) == {own.id}
    assert _visible(db, world.ortho_nurse) == {other_ward.id}
    assert _visible(db, world.centre) == {own.id, other_ward.id}
    assert _visible(db, world.centre_b) == {other_hospital.id}
    assert _visible(db, world.qa) == {own.id, other_ward.id}


@pytest.mark.parametrize("who", ["county_auditor", "city_auditor", "sys_admin", "security_admin",
                                 "audit_admin", "responder"])
def test_roles_without_a_grant_see_no_patient_records(world, db, who):
    world.discharge()
    assert _visible(db, getattr(world, who)) == set()


def test_nurse_queue_holds_ward_level_tasks_and_centre_queue_hospital_level(world, db):
    d = world.discharge()
    nurse_tasks = db.session.scalars(select(FollowupTask).where(task_filter(world.nurse))).all()
    centre_tasks = db.session.scalars(select(FollowupTask).where(task_filter(world.centre))).all()
    assert [t.level for t in nurse_tasks] == ["ward"]
    assert [t.level for t in centre_tasks] == ["hospital"]
    assert {t.discharge_id for t in nurse_tasks + centre_tasks} == {d.id}


def test_a_record_outside_the_scope_is_a_404_like_a_missing_one(world, as_user):
    other = world.discharge(world.ward_b)
    client = as_user(world.nurse)
    assert client.get(f"/discharges/{other.id}").status_code == 404
    assert client.get("/discharges/999999").status_code == 404
    assert client.post(f"/discharges/{other.id}/contact").status_code == 404


@pytest.mark.parametrize("who", ["county_auditor", "city_auditor", "sys_admin", "audit_admin", "responder"])
def test_roles_without_patient_access_get_404_on_a_discharge(world, as_user, who):
    d = world.discharge()
    assert as_user(getattr(world, who)).get(f"/discharges/{d.id}").status_code == 404


def test_list_masks_phone_and_qa_sees_masked_names(world, as_user):
    world.discharge(name="欧阳娜娜", phone="+8613812345678")
    page = as_user(world.qa).get("/discharges/").get_data(as_text=True)
    assert "欧阳**" in page and "欧阳娜娜" not in page
    assert "13812345678" not in page
    nurse_page = as_user(world.nurse).get("/discharges/").get_data(as_text=True)
    assert "欧阳娜娜" in nurse_page and "13812345678" not in nurse_page


def test_revealing_a_phone_number_is_logged_with_who_what_when(world, as_user, db):
    d = world.discharge(phone="+8613812345678")
    client = as_user(world.nurse)
    detail = client.get(f"/discharges/{d.id}").get_data(as_text=True)
    assert "138****5678" in detail and "13812345678" not in detail
    resp = client.post(f"/discharges/{d.id}/contact")
    assert resp.status_code == 200 and "tel:+8613812345678" in resp.get_data(as_text=True)
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "pii.reveal_phone")).one()
    assert (ev.user_id, ev.object_type, ev.object_id) == (world.nurse.id, "discharge", d.id)
    assert ev.at is not None


def test_qa_may_open_a_record_but_not_reveal_the_phone(world, as_user):
    d = world.discharge()
    client = as_user(world.qa)
    assert client.get(f"/discharges/{d.id}").status_code == 200
    assert client.post(f"/discharges/{d.id}/contact").status_code == 404


def test_masks():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+861012345678").endswith("78") and "1234" not in mask_phone("+861012345678")
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧阳**"
    assert mask_id_number("37150219600501123X") == "371502********123X"


def test_sys_admin_pages_are_for_sys_admin_only(world, as_user):
    assert as_user(world.sys_admin).get("/admin/users").status_code == 200
    assert as_user(world.qa).get("/admin/users").status_code == 404
