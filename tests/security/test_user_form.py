"""Creating a user picks the hospital, its wards or the region from lists (issue 15 point 8):
the ward options carry their hospital so the page can follow the chosen one; a form with an
error comes back with what was typed and says why in Chinese."""
import re

from sqlalchemy import select

from followup.models import User, Ward


def _options(body, name):
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.findall(r"<option([^>]*)>([^<]*)</option>", select_html)


def test_hospitals_wards_and_regions_are_choices_and_each_ward_names_its_hospital(world, as_user):
    body = as_user(world.sys_admin).get("/admin/users").get_data(as_text=True)
    hospitals = [label for _attrs, label in _options(body, "hospital")]
    assert {"东昌府区人民医院", "阳谷县人民医院", "聊城市人民医院"} <= set(hospitals)
    wards = _options(body, "wards")
    assert f'data-hospital="{world.hospital_b.id}"' in next(a for a, label in wards if f'value="{world.ward_b.id}"' in a)
    assert len(wards) >= 4
    assert 'name="hospital_code"' not in body and "Ward codes" not in body and "病区代码" not in body
    assert "admin_users.js" in body and 'data-scope-kinds="' in body


def test_a_nurse_is_created_from_the_picked_hospital_and_ward(world, as_user, db):
    resp = as_user(world.sys_admin).post("/admin/users", data={
        "username": "nurse_new", "display_name": "赵护士", "password": "Strong-Pass-2026", "role": "nurse",
        "hospital": world.hospital_a.id, "wards": [world.orthopaedics.id]})
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "nurse_new"))
    assert user.hospital_id == world.hospital_a.id and user.ward_ids == [world.orthopaedics.id]


def test_an_error_keeps_what_was_typed_and_says_why_in_chinese(world, as_user, db):
    admin = as_user(world.sys_admin)
    body = admin.post("/admin/users", data={
        "username": "nurse_new", "display_name": "赵护士", "password": "Strong-Pass-2026", "role": "nurse",
        "hospital": world.hospital_a.id, "wards": [world.ward_b.id]}).get_data(as_text=True)
    assert "请选择所选医院的病区" in body
    assert 'value="nurse_new"' in body and 'value="赵护士"' in body
    assert re.search(rf'<option[^>]*selected[^>]*value="{world.hospital_a.id}"|<option value="{world.hospital_a.id}"[^>]*selected',
                     body)
    assert db.session.scalar(select(User).where(User.username == "nurse_new")) is None
    body = admin.post("/admin/users", data={"username": "", "display_name": "赵护士", "password": "short",
                                            "role": "qa"}).get_data(as_text=True)
    assert "该字段是必填字段" in body and "请选择医院" in body and "密码须满足" in body  # WTForms' own, in Chinese
    assert "This field is required" not in body
    body = admin.post("/admin/users", data={"username": "nurse_a", "display_name": "x", "password": "Strong-Pass-2026",
                                            "role": "county_auditor", "region": world.city.id}).get_data(as_text=True)
    assert "该用户名已被占用" in body and "请选择县（市、区）" in body


def test_a_nurse_gets_clinical_wards_only(world, as_user, db):
    cashier = Ward(hospital=world.hospital_a, code="SFC", name="收费处", kind="functional")
    db.session.add(cashier)
    db.session.commit()
    body = as_user(world.sys_admin).post("/admin/users", data={
        "username": "nurse_new", "display_name": "赵护士", "password": "Strong-Pass-2026", "role": "nurse",
        "hospital": world.hospital_a.id, "wards": [cashier.id]}).get_data(as_text=True)
    assert "护士只随访临床科室的患者" in body


def test_the_role_page_shows_the_users_scope_selected(world, as_user):
    body = as_user(world.sys_admin).get(f"/admin/users/{world.nurse.id}").get_data(as_text=True)
    ward = next(a for a, _label in _options(body, "wards") if f'value="{world.cardiology.id}"' in a)
    assert "selected" in ward
