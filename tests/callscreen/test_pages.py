"""The call pages as nurses use them: masked queue, the full number only on the call screen
(audited), partial updates, form errors, other wards' tasks looking missing."""
from sqlalchemy import select

from followup.models import AuditEvent, TaskStatus
from followup.models.alert import RedFlagAlert
from followup.models.call import WardFollowup

HTMX = {"HX-Request": "true"}


def test_queue_shows_masked_name_and_phone_only(world, as_user, claimed, frozen):
    page = as_user(world.nurse).get("/calls/").get_data(as_text=True)
    assert "李**" in page and "138****5678" in page
    assert "李秀英" not in page and "13812345678" not in page


def test_call_screen_shows_full_number_as_tel_link_and_logs_the_opening(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    page = as_user(world.nurse).get(f"/calls/{ward_task.id}").get_data(as_text=True)
    assert 'href="tel:+8613812345678"' in page and "李秀英" in page
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pii.call_screen"))
    assert (ev.user_id, ev.object_type, ev.object_id) == (world.nurse.id, "followup_task", ward_task.id)
    assert "13812345678" not in str(ev.detail)


def test_call_screen_of_a_task_not_claimed_by_you_shows_no_number(world, as_user, claimed, frozen):
    ward_task, _ = claimed
    from followup.security.users import create_user
    from followup.models import Role
    other = create_user("nurse_a2", world.PASSWORD, Role.NURSE, hospital_code="HA", ward_codes=["XNK"])
    resp = as_user(other).get(f"/calls/{ward_task.id}")
    assert resp.status_code == 302 and "13812345678" not in resp.get_data(as_text=True)


def test_another_wards_task_is_not_found(world, as_user, claimed, frozen):
    ward_task, hospital_task = claimed
    for user in (world.nurse_b, world.ortho_nurse):
        client = as_user(user)
        assert client.get(f"/calls/{ward_task.id}").status_code == 404
        assert client.post(f"/calls/{ward_task.id}/record", data={"condition": "improved"}).status_code == 404
        assert client.post(f"/calls/{ward_task.id}/attempt", data={"outcome": "refused"}).status_code == 404
        assert client.post(f"/calls/{ward_task.id}/claim").status_code == 404
    # the centre of another hospital, and a nurse asking for the hospital-level task
    assert as_user(world.centre_b).get(f"/calls/{hospital_task.id}").status_code == 404
    assert as_user(world.nurse).get(f"/calls/{hospital_task.id}").status_code == 404
    assert ward_task.status == TaskStatus.CLAIMED


def test_non_callers_get_no_call_pages(world, as_user, claimed, frozen):
    for user in (world.qa, world.hospital_admin, world.sys_admin):
        assert as_user(user).get("/calls/").status_code == 404


def test_invalid_form_returns_field_errors_in_chinese_and_saves_nothing(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    resp = as_user(world.nurse).post(f"/calls/{ward_task.id}/record", headers=HTMX,
                                     data={"condition": "improved", "red_flag": "true", "next_visit_date": "2026-11-01"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "下次复诊日期不能早于今天" in page or "The next visit cannot be in the past." in page
    assert 'value="improved" checked' in page  # what the nurse entered is kept
    assert "请修改标出的项目" in page  # a field is marked
    db.session.expire_all()
    assert db.session.scalar(select(WardFollowup)) is None and ward_task.status == TaskStatus.CLAIMED


def test_valid_form_completes_the_call_without_a_full_reload(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    form = {"condition": "improved",
            "medication_adherence.0.medicine": "阿司匹林肠溶片 100mg 每日一次", "medication_adherence.0.as_prescribed": "true",
            "medication_adherence.1.medicine": "苯磺酸氨氯地平片 5mg 每日一次", "medication_adherence.1.as_prescribed": "false",
            "medication_adherence.1.note": "", "guidance.diet.given": "true", "guidance.diet.choices": "light",
            "next_visit_date": "", "red_flag": "true", "red_flag_note": "伤口红肿",
            "opinions.0.text": "", "opinions.0.sentiment": "suggestion", "opinions.0.category": "other", "notes": ""}
    resp = as_user(world.nurse).post(f"/calls/{ward_task.id}/record", headers=HTMX, data=form)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = resp.get_data(as_text=True)
    assert "<html" not in page  # a partial, swapped into the page
    assert 'id="phones" hx-swap-oob="outerHTML"' in page and "13812345678" not in page  # the number leaves
    db.session.expire_all()
    assert db.session.get(type(ward_task), ward_task.id).status == TaskStatus.DONE
    assert db.session.scalar(select(RedFlagAlert.note)) == "伤口红肿"


def test_no_answer_ends_the_call_and_offers_the_next_one(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    resp = as_user(world.nurse).post(f"/calls/{ward_task.id}/attempt", headers=HTMX, data={"outcome": "no_answer", "note": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'hx-swap-oob="innerHTML"' in page and "/calls/next" in page
    db.session.expire_all()
    assert db.session.get(type(ward_task), ward_task.id).status == TaskStatus.OPEN


def test_callback_without_a_time_is_refused_with_a_message(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    resp = as_user(world.nurse).post(f"/calls/{ward_task.id}/attempt", headers=HTMX, data={"outcome": "callback", "callback_at": ""})
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(type(ward_task), ward_task.id).status == TaskStatus.CLAIMED


def test_next_call_hands_over_the_most_urgent_task(world, db, as_user, frozen):
    from datetime import date
    world.discharge(world.cardiology, discharged=date(2026, 11, 19))
    resp = as_user(world.nurse).post("/calls/next")
    assert resp.status_code == 302 and "/calls/" in resp.headers["Location"]


def test_an_opinions_department_follows_its_category_billing_to_the_cashiers_office(world, db, as_user, claimed, frozen):
    """Each category option names the department it suggests (the page's script moves the
    department select with it); a new row starts on the first category's department, here the
    patient's ward; a form sent back with errors keeps the caller's own choice."""
    import re
    from followup.core.clock import utcnow
    from followup.rectification import departments
    _, hospital_task = claimed
    cashier = departments.add_department(world.hospital_a.id, "收费处", "functional", user=None, now=utcnow())
    db.session.commit()
    client = as_user(world.centre)
    page = client.get(f"/calls/{hospital_task.id}").get_data(as_text=True)
    options = dict(re.findall(r'<option value="(\w+)" data-ward="(\d*)"', page))
    assert options["cost"] == str(cashier.id) and options["service_attitude"] == str(world.cardiology.id)
    ward_select = re.search(r'<select name="opinions\.0\.ward_id"[^>]*>.*?</select>', page, re.S).group(0)
    assert "data-auto" in ward_select and f'<option value="{world.cardiology.id}" selected' in ward_select
    resp = client.post(f"/calls/{hospital_task.id}/record", headers=HTMX, data={
        "opinions.0.text": "收费不清", "opinions.0.sentiment": "complaint", "opinions.0.category": "cost",
        "opinions.0.ward_id": str(world.cardiology.id)})  # no overall score: sent back
    assert resp.status_code == 422
    ward_select = re.search(r'<select name="opinions\.0\.ward_id"[^>]*>.*?</select>', resp.get_data(as_text=True), re.S).group(0)
    assert "data-auto" not in ward_select and f'<option value="{world.cardiology.id}" selected' in ward_select


def test_a_task_changed_under_the_form_is_a_409_with_the_entries_kept_not_a_500(world, db, as_user, claimed, frozen,
                                                                                monkeypatch):
    """The HIS corrected the stay (or a colleague's dial paced the task) while the nurse typed: the
    version check refuses the save. bench/load.py met this as a 500."""
    from sqlalchemy import update
    from followup.calls import queueing
    from followup.models import FollowupTask
    ward_task, _ = claimed
    real = queueing.complete_task

    def moved_meanwhile(user, task, now):
        db.session.execute(update(FollowupTask).where(FollowupTask.id == task.id)
                           .values(version=FollowupTask.version + 1).execution_options(synchronize_session=False))
        return real(user, task, now)
    monkeypatch.setattr(queueing, "complete_task", moved_meanwhile)
    form = {"condition": "improved",
            "medication_adherence.0.medicine": "阿司匹林肠溶片 100mg 每日一次", "medication_adherence.0.as_prescribed": "true",
            "medication_adherence.1.medicine": "苯磺酸氨氯地平片 5mg 每日一次", "medication_adherence.1.as_prescribed": "true",
            "guidance.diet.given": "true", "guidance.diet.choices": "light", "notes": "已按时服药"}
    resp = as_user(world.nurse).post(f"/calls/{ward_task.id}/record", headers=HTMX, data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409, page[:2000]
    assert "这条随访刚被修改" in page and "已按时服药" in page
    # No field is marked: the box says nothing was saved, not "correct the marked fields".
    assert "本次内容尚未保存" in page and "请修改标出的项目" not in page
    db.session.expire_all()
    assert db.session.scalar(select(WardFollowup)) is None and ward_task.status == TaskStatus.CLAIMED
