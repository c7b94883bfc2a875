"""Escalation, step by step with a frozen clock: caller → head nurse → department director → QA,
each notified in the service and audited, each step once, and no deadline ever moved."""
from datetime import date, timedelta

import time_machine
from sqlalchemy import func, select

from followup.core.clock import utcnow
from followup.models import AuditEvent, FollowupTask, Level
from followup.models.notification import EscalationStep, Notification
from followup.rectification.escalation import escalate_hospital, set_thresholds

from .conftest import local


def _told(db, user) -> list[str]:
    return db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def _run(world, db, when):
    with time_machine.travel(when, tick=False):
        out = escalate_hospital(world.hospital_a.id, utcnow())
        db.session.commit()
    return out


def _ward_task(world):
    d = world.discharge(world.cardiology, discharged=date(2026, 11, 20))
    return next(t for t in d.tasks if t.level == Level.WARD), next(t for t in d.tasks if t.level == Level.HOSPITAL)


def test_a_task_escalates_one_step_at_a_time_to_the_right_people(staffed, db):
    w = staffed
    ward_task, hosp_task = _ward_task(w)
    due = ward_task.due_at  # 28 Nov 00:00 local
    assert due == local(2026, 11, 28).astimezone(due.tzinfo)

    _run(w, db, due - timedelta(hours=25))
    assert _told(db, w.nurse) == [] and db.session.scalar(select(func.count()).select_from(EscalationStep)) == 0

    _run(w, db, due - timedelta(hours=23))  # step 1: the queue's callers (nobody claimed it)
    assert _told(db, w.nurse) == ["escalation.task"]
    assert _told(db, w.centre) == ["escalation.task"]  # the hospital-level task's queue
    assert _told(db, w.responder) == [] and _told(db, w.qa) == []

    _run(w, db, due + timedelta(hours=1))  # step 2: head nurse and centre lead
    assert _told(db, w.head_nurse) == ["escalation.task", "escalation.task"]  # as a nurse, then as head
    assert _told(db, w.centre_lead) == ["escalation.task", "escalation.task"]
    assert _told(db, w.nurse) == ["escalation.task"]  # not told twice
    assert _told(db, w.responder) == []

    _run(w, db, due + timedelta(hours=25))  # step 3: the department director of 心内科
    assert _told(db, w.responder) == ["escalation.task"]
    assert _told(db, w.qa) == []

    _run(w, db, due + timedelta(hours=73))  # step 4: QA
    assert _told(db, w.qa) == ["escalation.task"]
    text = db.session.scalar(select(Notification.text).where(Notification.user_id == w.qa.id))
    assert "心内科" in text and "2" in text  # both tasks of the discharge, one line, no patient name
    assert "张三" not in text

    _run(w, db, due + timedelta(hours=100))  # idempotent: every step already taken
    assert db.session.scalar(select(func.count()).select_from(EscalationStep)) == 8
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 8
    db.session.expire_all()
    assert db.session.get(FollowupTask, ward_task.id).due_at == due  # never moves a deadline
    assert db.session.get(FollowupTask, hosp_task.id).due_at == due
    steps = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "escalation.step")).all()
    assert sorted({(d["step"], d["role"]) for d in steps}) == [(1, "caller"), (2, "head_nurse"),
                                                                (3, "director"), (4, "qa")]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "notification.send")) == 6  # one per recipient group


def test_a_claimed_task_tells_its_caller_only_and_a_done_task_stops_escalating(staffed, db):
    w = staffed
    ward_task, hosp_task = _ward_task(w)
    ward_task.claimed_by_id, ward_task.status = w.nurse.id, "claimed"
    hosp_task.status = "done"
    db.session.commit()
    _run(w, db, ward_task.due_at - timedelta(hours=1))
    assert _told(db, w.nurse) == ["escalation.task"] and _told(db, w.head_nurse) == []
    assert _told(db, w.centre) == []  # done: nothing to escalate


def test_an_overdue_ledger_item_goes_to_head_nurse_then_director_then_qa(staffed, db):
    from followup.models.opinion import RectificationItem
    w = staffed
    item = RectificationItem(hospital_id=w.hospital_a.id, ward_id=w.cardiology.id, problem="病房太吵",
                             due_date=date(2026, 12, 1), created_by_id=w.qa.id)
    db.session.add(item)
    db.session.commit()
    _run(w, db, local(2026, 12, 1, 23, 30))  # the due day is not over yet
    assert db.session.scalar(select(func.count()).select_from(EscalationStep)) == 0
    _run(w, db, local(2026, 12, 2, 0, 30))
    assert _told(db, w.head_nurse) == ["escalation.item"] and _told(db, w.nurse) == []  # no caller step
    _run(w, db, local(2026, 12, 4, 0, 30))
    assert _told(db, w.responder) == ["escalation.item"]
    link = db.session.scalar(select(Notification.link).where(Notification.user_id == w.responder.id))
    assert link == "/ledger/?overdue=1"
    _run(w, db, local(2026, 12, 7, 0, 30))
    assert _told(db, w.qa) == ["escalation.item"]
    db.session.expire_all()
    assert db.session.get(RectificationItem, item.id).due_date == date(2026, 12, 1)


def test_an_unacknowledged_red_flag_escalates_until_someone_acknowledges_it(staffed, db):
    from followup.models.alert import RedFlagAlert
    from followup.models.call import WardFollowup
    w = staffed
    ward_task, _ = _ward_task(w)
    rec = WardFollowup(task_id=ward_task.id, recorded_by_id=w.nurse.id, condition="worse")
    db.session.add(rec)
    db.session.flush()
    raised = local(2026, 11, 22, 9)
    alert = RedFlagAlert(hospital_id=w.hospital_a.id, ward_id=w.cardiology.id, task_id=ward_task.id,
                         followup_id=rec.id, raised_by_id=w.nurse.id, raised_at=raised)
    ward_task.status = "done"
    db.session.add(alert)
    db.session.commit()
    _run(w, db, raised + timedelta(hours=2, minutes=1))
    assert _told(db, w.nurse) == ["escalation.red_flag"]
    _run(w, db, raised + timedelta(hours=4, minutes=1))
    assert _told(db, w.head_nurse) == ["escalation.red_flag"]
    alert.acknowledged_at, alert.acknowledged_by_id, alert.ack_note = raised + timedelta(hours=5), w.nurse.id, "王医生"
    db.session.commit()
    _run(w, db, raised + timedelta(hours=50))
    assert _told(db, w.responder) == [] and _told(db, w.qa) == []


def test_thresholds_are_per_hospital(staffed, db):
    w = staffed
    ward_task, _ = _ward_task(w)
    other = w.discharge(w.ward_b, discharged=date(2026, 11, 20))
    with time_machine.travel(local(2026, 11, 25), tick=False):
        set_thresholds(w.hospital_a.id, {"task": [None, 2, None, None]}, user=w.qa, now=utcnow())
        db.session.commit()
    _run(w, db, ward_task.due_at + timedelta(hours=1))
    assert _told(db, w.nurse) == [] and _told(db, w.head_nurse) == []  # step 1 off, step 2 at +2 h
    _run(w, db, ward_task.due_at + timedelta(hours=2))
    assert _told(db, w.head_nurse) == ["escalation.task"]
    with time_machine.travel(ward_task.due_at + timedelta(hours=1), tick=False):
        escalate_hospital(w.hospital_b.id, utcnow())  # hospital B keeps the defaults: step 1 and 2
    db.session.commit()
    assert _told(db, w.nurse_b) == ["escalation.task"]
    assert other.tasks[0].due_at == ward_task.due_at


def test_the_periodic_job_is_declared_and_run_by_cron(staffed, db, runner):
    from followup import jobs
    from followup.jobs.maintenance import PERIODIC
    jobs.registered()
    assert any(p.id == "escalation" and p.job == "escalate" for p in PERIODIC)
    ward_task, _ = _ward_task(staffed)
    with time_machine.travel(ward_task.due_at + timedelta(hours=80), tick=False):
        out = runner.invoke(args=["followup", "cron", "--once"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert _told(db, staffed.qa) == ["escalation.task"]
    assert db.session.scalar(select(func.count()).select_from(EscalationStep)) == 8


def test_qa_sets_the_hospitals_thresholds_on_a_page(staffed, db, as_user):
    from followup.rectification.escalation import thresholds
    qa = as_user(staffed.qa)
    page = qa.get("/escalation/").get_data(as_text=True)
    assert 'name="task_1" min="-240" max="2160" value="-24"' in page
    form = {f"{s}_{i}": "" for s in ("task", "item", "red_flag") for i in (1, 2, 3, 4)}
    form.update(task_1="-12", task_2="6", item_3="24")
    assert qa.post("/escalation/", data=form).status_code == 302
    assert thresholds(staffed.hospital_a.id)["task"] == [-12, 6, None, None]
    assert thresholds(staffed.hospital_a.id)["item"] == [None, None, 24, None]
    assert thresholds(staffed.hospital_b.id)["task"] == [-24, 0, 24, 72]  # B keeps the defaults
    assert qa.post("/escalation/", data={**form, "task_1": "99999"}).status_code == 400
    assert as_user(staffed.nurse).get("/escalation/").status_code == 404
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "escalation.policy"))
    assert ev.user_id == staffed.qa.id and ev.detail["task"] == [-12, 6, None, None]


def test_each_reader_sees_a_notification_in_their_own_language(staffed, db, as_user):
    """The job writes in the service language; the page says it again in the reader's (the
    stored text stays for rows without parameters, e.g. written by the release before)."""
    from followup.notifications import notify
    w = staffed
    ward_task, _hosp = _ward_task(w)
    _run(w, db, ward_task.due_at + timedelta(hours=73))  # every step at once: QA is told too
    stored = db.session.scalar(select(Notification.text).where(Notification.user_id == w.qa.id))
    assert stored.startswith("心内科：2 项随访任务临近或超过期限") and "至您（质控/医务科）" in stored, stored
    qa = as_user(w.qa)
    zh = qa.get("/notifications/").get_data(as_text=True)
    en = qa.get("/notifications/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert stored in zh
    assert "心内科: 2 follow-up tasks are near or past their deadline (escalated to you as QA / medical affairs, " \
           "step 4 of 4)." in en and stored not in en
    notify(db.session, [w.qa.id], "escalation.task", "旧版本写下的通知", "/calls/", utcnow())  # no parameters
    db.session.commit()
    assert "旧版本写下的通知" in qa.get("/notifications/", headers={"Accept-Language": "en"}).get_data(as_text=True)
