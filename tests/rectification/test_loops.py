"""Each loop end to end: what patients, callers and auditors report reaches the department that
must act, and is closed on the record."""
import io
from datetime import date

import openpyxl
from sqlalchemy import select

from followup.calls import queueing, records
from followup.models import AuditEvent, Level
from followup.models.department import DepartmentFeedback
from followup.models.opinion import ItemCase, ItemEvidence, Opinion, RectificationEvent, RectificationItem
from followup.models.sample import SampledRecord
from followup.rectification import feedback
from tests.rectification.conftest import NOW, PDF, stay

RATINGS = {"sat_overall": 4, "sat_doctors": 5, "sat_nurses": 5, "sat_environment": 4, "sat_cost": 3, "sat_process": 4}


def hospital_call(world, db, d, opinions=(), **ratings):
    task = next(t for t in d.tasks if t.level == Level.HOSPITAL)
    queueing.claim_task(world.centre, task.id, NOW)
    rec = records.save_hospital_followup(world.centre, task, {**RATINGS, **ratings, "opinions": list(opinions)}, NOW)
    db.session.commit()
    return rec


def _one_sampled_record(w, db, draw):
    """An October stay the hospital reports followed up, drawn by county A: (sample, its record)."""
    d = w.discharge(w.cardiology, discharged=date(2026, 10, 3))
    for t in d.tasks:
        t.status = "done"
    db.session.commit()
    sample = draw(w.county_a)
    return sample, db.session.scalars(select(SampledRecord)).one()


def events(db, item_id):
    return [e.action for e in db.session.scalars(select(RectificationEvent).where(
        RectificationEvent.item_id == item_id).order_by(RectificationEvent.id))]


def test_an_opinion_about_billing_reaches_the_cashiers_feedback_page(depts, db, as_user, frozen):
    w = depts
    words = "出院结算多收了两次床位费 <b>请核实</b>"
    hospital_call(w, db, stay(w), [{"text": words, "sentiment": "suggestion", "category": "cost"}])
    op = db.session.scalars(select(Opinion)).one()
    assert op.ward_id == w.cashier.id  # 费用收费 → 收费处, nobody chose it by hand
    from followup.jobs.reports import monthly_summary
    monthly_summary(w.hospital_a.id, "2026-11")  # the monthly job makes every department's notice
    monthly_summary(w.hospital_a.id, "2026-11")  # twice: still one per department
    fbs = db.session.scalars(select(DepartmentFeedback).where(DepartmentFeedback.month == "2026-11")).all()
    assert sorted(f.ward.name for f in fbs) == sorted(["心内科", "骨科", "收费处", "医务科"])
    mine = next(f for f in fbs if f.ward_id == w.cashier.id)
    head = as_user(w.cashier_head)
    assert f"/feedback/{mine.id}" in head.get("/feedback/").get_data(as_text=True)
    page = head.get(f"/feedback/{mine.id}").get_data(as_text=True)
    assert "出院结算多收了两次床位费 &lt;b&gt;请核实&lt;/b&gt;" in page
    assert head.post(f"/feedback/{mine.id}/acknowledge").status_code == 302
    db.session.expire_all()
    mine = db.session.get(DepartmentFeedback, mine.id)
    assert mine.acknowledged_by_id == w.cashier_head.id and mine.acknowledged_at is not None
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "feedback.acknowledge",
                                                         AuditEvent.object_id == mine.id))
    xlsx = head.get(f"/feedback/{mine.id}/export")
    assert xlsx.status_code == 200
    cells = [c.value for ws in openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets for r in ws.iter_rows() for c in r]
    assert words in cells
    # The cardiology head sees neither this page nor this opinion; QA sees it.
    other = as_user(w.responder)
    assert other.get(f"/feedback/{mine.id}").status_code == 404
    assert other.post(f"/feedback/{mine.id}/acknowledge").status_code == 404
    assert words not in other.get("/feedback/").get_data(as_text=True)
    assert as_user(w.qa).get(f"/feedback/{mine.id}").status_code == 200


def test_a_clinical_wards_feedback_has_its_rates_and_satisfaction(depts, db, frozen):
    w = depts
    hospital_call(w, db, stay(w), sat_overall=5)
    feedback.publish_month(w.hospital_a.id, "2026-11", now=NOW)
    fb = db.session.scalar(select(DepartmentFeedback).where(DepartmentFeedback.ward_id == w.cardiology.id))
    data = feedback.page(fb, now=NOW)
    assert data["rates"]["eligible"] == 1 and data["rates"]["followed"] == 1
    assert data["satisfaction"]["overall"] == 5
    cashier = db.session.scalar(select(DepartmentFeedback).where(DepartmentFeedback.ward_id == w.cashier.id))
    assert feedback.page(cashier, now=NOW)["rates"] is None  # functional: no rates


def test_a_hotline_complaint_is_registered_answered_evidenced_replied_and_closed(depts, db, as_user, frozen):
    w = depts
    d = stay(w, inpatient_no="ZY777001")
    qa = as_user(w.qa)
    page = qa.get("/complaints/new?inpatient_no=ZY777001").get_data(as_text=True)
    assert "ZY777001" in page and "张*" in page and "张三" not in page  # QA sees the name masked
    resp = qa.post("/complaints/new", data={"inpatient_no": "ZY777001", "channel": "hotline_12345",
                                            "text": "12345转来：收费窗口态度恶劣，多收费", "category": "cost"})
    assert resp.status_code == 302
    item = db.session.scalars(select(RectificationItem)).one()
    case = db.session.get(ItemCase, item.id)
    assert (item.ward_id, item.source, case.channel, case.discharge_id) == (w.cashier.id, "intake", "hotline_12345", d.id)
    assert item.due_date == date(2026, 12, 8)  # default 15 days
    assert case.responsible_id == w.cashier_head.id  # 收费处 has one head: named at once
    url = f"/ledger/{item.id}"
    assert qa.post(f"/complaints/{item.id}/responsible", data={"user_id": w.responder.id}).status_code == 302
    assert db.session.get(ItemCase, item.id).responsible_id == w.cashier_head.id  # not a head of 收费处
    qa.post(f"/complaints/{item.id}/responsible", data={"user_id": w.qa.id})
    qa.post(f"/complaints/{item.id}/responsible", data={"user_id": w.cashier_head.id})
    head = as_user(w.cashier_head)
    assert head.post(url + "/respond", data={"cause": "窗口人员解释不清", "measures": "退还多收费用，培训"}).status_code == 302
    qa.post(url + "/close", data={"note": "核实"})
    db.session.expire_all()
    assert db.session.get(RectificationItem, item.id).status == "responded"  # no evidence, no reply yet
    refused = head.post(f"/complaints/{item.id}/evidence", data={"file": (io.BytesIO(b"<html>x</html>"), "x.pdf")},
                        content_type="multipart/form-data")
    assert refused.status_code == 302 and not db.session.scalars(select(ItemEvidence)).all()
    head.post(f"/complaints/{item.id}/evidence", data={"text": "退费凭证已上传", "file": (io.BytesIO(PDF), "../../退费凭证.pdf")},
              content_type="multipart/form-data")
    ev = db.session.scalars(select(ItemEvidence)).one()
    assert ev.filename == "退费凭证.pdf" and ev.content_type == "application/pdf" and ".." not in ev.storage_key
    got = head.get(f"/complaints/{item.id}/evidence/{ev.id}")
    assert got.status_code == 200 and got.data == PDF and "attachment" in got.headers["Content-Disposition"]
    assert as_user(w.responder).get(f"/complaints/{item.id}/evidence/{ev.id}").status_code == 404
    assert as_user(w.county_auditor).get(f"/complaints/{item.id}/evidence/{ev.id}").status_code == 404
    qa.post(f"/complaints/{item.id}/reply", data={"text": "已电话告知患者退费结果", "satisfaction": "satisfied"})
    assert qa.post(url + "/close", data={"note": "核实无误"}).status_code == 302
    db.session.expire_all()
    item = db.session.get(RectificationItem, item.id)
    case = db.session.get(ItemCase, item.id)
    assert item.status == "closed" and case.reply_by_id == w.qa.id and case.reply_satisfaction == "satisfied"
    assert events(db, item.id) == ["created", "responsible", "responsible", "responsible", "responded", "evidence",
                                   "evidence", "replied", "closed"]
    page = qa.get(url).get_data(as_text=True)
    assert "已电话告知患者退费结果" in page and "退费凭证.pdf" in page
    # The complaint counts in the month's opinions, with its channel.
    assert db.session.scalars(select(Opinion.source)).one() == "hotline_12345"


def test_centre_staff_register_but_a_stay_outside_the_hospital_is_not_found(depts, db, as_user, frozen):
    w = depts
    other = w.discharge(w.ward_b, inpatient_no="ZYB0001")
    centre = as_user(w.centre)
    assert 'name="text"' not in centre.get("/complaints/new?inpatient_no=ZYB0001").get_data(as_text=True)  # no form
    centre.post("/complaints/new", data={"inpatient_no": "ZYB0001", "channel": "walk_in", "text": "x", "category": "other"})
    assert db.session.scalars(select(RectificationItem)).all() == [] and other.id
    stay(w, inpatient_no="ZY1")
    centre.post("/complaints/new", data={"inpatient_no": "ZY1", "channel": "letter", "text": "来信：急诊等候太久",
                                         "category": "waiting_process", "ward_id": w.medical.id, "urgent": "1"})
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.ward_id, item.due_date) == (w.medical.id, date(2026, 11, 26))  # urgent: 3 days


def test_a_one_point_rating_opens_an_item_and_good_ratings_do_not(depts, db, frozen):
    w = depts
    hospital_call(w, db, stay(w))
    assert db.session.scalars(select(RectificationItem)).all() == []
    hospital_call(w, db, stay(w), sat_cost=1)
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.source, item.ward_id, item.status) == ("rating", w.cashier.id, "open")
    case = db.session.get(ItemCase, item.id)
    assert "费用 1/5" in item.problem and case.channel == "call" and case.responsible_id == w.cashier_head.id


def test_a_suspected_false_finding_opens_a_hospital_item_only_the_commission_closes(depts, db, as_user, draw, frozen):
    w = depts
    sample, rec = _one_sampled_record(w, db, draw)
    auditor = as_user(w.county_auditor)
    auditor.post(f"/sampling/{sample.id}/records/{rec.id}/attempt", data={
        "outcome": "answered", "hospital_called": "no", "satisfaction": "4", "opinions": "医院从没打过电话，药费偏贵"})
    item = db.session.scalars(select(RectificationItem)).one()
    case = db.session.get(ItemCase, item.id)
    assert (item.hospital_id, item.source, case.commission_region_id, case.sampled_record_id) == (
        w.hospital_a.id, "commission", w.county_a.id, rec.id)
    # What the patient told the auditor is the hospital's opinion, in its monthly summary.
    op = db.session.scalars(select(Opinion)).one()
    assert (op.source, op.text, op.hospital_id) == ("commission_check", "医院从没打过电话，药费偏贵", w.hospital_a.id)
    from followup.reports import monthly
    assert monthly.build(w.hospital_a.id, "2026-11", now=NOW)["opinions"]["by_sentiment"]["suggestion"] == 1
    qa_page = as_user(w.qa).get("/qa/opinions?month=2026-11").get_data(as_text=True)
    assert "医院从没打过电话，药费偏贵" in qa_page and "卫健委抽查" in qa_page
    assert "患者称未接到随访电话" not in item.problem and "疑似虚假记录" in item.problem  # in words, in Chinese
    # The commission sets the deadline; the hospital answers like any item.
    assert auditor.post(f"/findings/{item.id}/deadline", data={"due_date": "2026-12-10"}).status_code == 302
    qa, head = as_user(w.qa), as_user(w.responder)
    assert head.post(f"/ledger/{item.id}/respond", data={"cause": "漏打", "measures": "补打并培训"}).status_code == 302
    head.post(f"/complaints/{item.id}/evidence", data={"text": "补打记录"}, content_type="multipart/form-data")
    qa.post(f"/ledger/{item.id}/close", data={"note": "我院自行销号"})
    db.session.expire_all()
    assert db.session.get(RectificationItem, item.id).status == "responded"  # QA cannot strike it off
    assert as_user(w.city_auditor).post(f"/findings/{item.id}/close").status_code == 404  # not the city's finding
    page = auditor.get("/findings/").get_data(as_text=True)
    assert w.hospital_a.name in page
    assert auditor.post(f"/findings/{item.id}/close", data={"note": "复核属实"}).status_code == 302
    db.session.expire_all()
    item = db.session.get(RectificationItem, item.id)
    assert item.status == "closed" and item.due_date == date(2026, 12, 10)
    assert events(db, item.id) == ["finding", "assigned", "responded", "evidence", "closed"]


def test_the_auditor_may_raise_a_finding_on_any_result(depts, db, as_user, draw, frozen):
    w = depts
    sample, rec = _one_sampled_record(w, db, draw)
    auditor = as_user(w.county_auditor)
    url = f"/findings/raise/{sample.id}/{rec.id}"
    assert auditor.post(url, data={"note": "x"}).status_code == 409  # no result recorded yet
    auditor.post(f"/sampling/{sample.id}/records/{rec.id}/attempt", data={"outcome": "answered", "hospital_called": "yes"})
    assert db.session.scalars(select(RectificationItem)).all() == []  # consistent: nothing by itself
    assert as_user(w.city_auditor).post(url, data={"note": "x"}).status_code == 404  # not the city's sample
    assert auditor.post(url, data={"note": "康复指导未落实", "due_date": "2026-12-01"}).status_code == 302
    item = db.session.scalars(select(RectificationItem)).one()
    assert item.due_date == date(2026, 12, 1) and "康复指导未落实" in item.problem


def test_a_department_head_never_sees_another_departments_items(depts, db, as_user, frozen):
    w = depts
    hospital_call(w, db, stay(w), [{"text": "心内科护士很冷淡", "sentiment": "complaint", "category": "service_attitude",
                                    "ward_id": w.cardiology.id},
                                   {"text": "收费处排长队", "sentiment": "complaint", "category": "cost",
                                    "ward_id": w.cashier.id}])
    items = {i.ward_id: i for i in db.session.scalars(select(RectificationItem))}
    head, cardio = as_user(w.cashier_head), as_user(w.responder)
    listing = head.get("/ledger/").get_data(as_text=True)
    assert "收费处排长队" in listing and "心内科护士很冷淡" not in listing
    assert head.get(f"/ledger/{items[w.cardiology.id].id}").status_code == 404
    assert cardio.get(f"/ledger/{items[w.cashier.id].id}").status_code == 404
    assert head.post(f"/ledger/{items[w.cardiology.id].id}/respond", data={"cause": "x", "measures": "y"}).status_code == 404
    assert head.post(f"/complaints/{items[w.cardiology.id].id}/evidence", data={"text": "x"}).status_code == 404


def test_a_finding_from_a_job_or_the_cli_is_written_in_words_too(depts, db, draw, frozen):
    """No request (a job, the CLI): the problem is still stored in the service's language."""
    from followup.sampling.calls import record_attempt
    w = depts
    _sample, rec = _one_sampled_record(w, db, draw)
    record_attempt(rec, {"outcome": "answered", "hospital_called": "no"}, user=w.county_auditor, now=NOW)
    item = db.session.scalars(select(RectificationItem)).one()
    assert item.problem.startswith("疑似虚假记录")


def test_the_intake_finds_the_patient_by_name_or_phone_as_the_call_screen_does(world, db):
    from followup.rectification.complaints import find_stay
    mine = world.discharge(world.cardiology, inpatient_no="ZYF0001", name="欧阳慧", phone="+8613912345678")
    world.discharge(world.ward_b, inpatient_no="ZYF0002", name="欧阳慧", phone="+8613912345678")  # another hospital
    for text in ("ZYF0001", "欧阳慧", "139 1234 5678", "oyh"):
        assert find_stay(world.qa, text).id == mine.id, text
    assert find_stay(world.qa, "ZYF0002") is None and find_stay(world.qa, "不存在") is None
