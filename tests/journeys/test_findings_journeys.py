"""Findings flow back, in a real browser: a department head (the cashier's office) answers a
hotline complaint and acknowledges its monthly feedback; a county auditor follows a finding the
hospital answered and strikes it off."""
import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.app_config(JOBS_INLINE_MODE="thread")


def _fits(j):
    width = j.page.evaluate("document.documentElement.scrollWidth")
    assert width <= j.page.viewport_size["width"], f"{j.page.url} is {width} px wide"


def _a_stay(hospital_code: str) -> str:
    from followup.extensions import db
    from followup.models import Discharge, Hospital
    no = db.session.scalar(select(Discharge.inpatient_no).join(Hospital, Hospital.id == Discharge.hospital_id)
                           .where(Hospital.code == hospital_code).order_by(Discharge.id).limit(1))
    db.session.remove()
    return no


def _publish_feedback(hospital_code: str):
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.models import Hospital
    from followup.rectification import feedback
    from followup.reports import monthly
    now = utcnow()
    hid = db.session.scalar(select(Hospital.id).where(Hospital.code == hospital_code))
    feedback.publish_month(hid, monthly.shift(monthly.previous_month(now), 1), now=now)
    db.session.commit()
    db.session.remove()


def test_g_a_hotline_complaint_reaches_the_cashiers_office_whose_head_answers_and_acknowledges(journey):
    words = "12345转来：出院结算重复收取床位费两天"
    qa = journey()
    qa.sign_in("qa")
    qa.goto(f"/complaints/new?inpatient_no={_a_stay('H371500001')}")
    qa.page.fill("textarea[name=text]", words)
    qa.page.select_option("select[name=category]", "cost")
    qa.page.click("form[action$='/complaints/new'] button.primary")
    qa.page.wait_for_url(lambda url: "/ledger/" in url)
    qa.check_language()
    assert "收费处" in qa.page.inner_text("main") and "12345热线" in qa.page.inner_text("main")
    item_path = qa.page.url.removeprefix(qa.base)
    _publish_feedback("H371500001")  # the monthly job's notice

    head = journey()
    head.sign_in("cashier")
    head.goto("/ledger/")
    head.page.click(f"main a[href='{item_path}']")
    head.page.wait_for_load_state("domcontentloaded")
    head.page.fill("textarea[name=cause]", "结算系统重复计费")
    head.page.fill("textarea[name=measures]", "已退还多收费用并修正计费规则")
    head.page.click("form[action$='/respond'] button.primary")
    head.page.wait_for_load_state("domcontentloaded")
    head.page.fill("textarea[name=text]", "退费凭证号 TF001")
    head.page.click("form[action$='/evidence'] button")
    head.page.wait_for_load_state("domcontentloaded")
    head.check_language()
    assert "退费凭证号 TF001" in head.page.inner_text("main")
    _fits(head)
    head.screenshot("dept_head_item")
    head.goto("/feedback/")
    head.page.click("main table a >> nth=0")
    head.page.wait_for_load_state("domcontentloaded")
    head.check_language()
    assert words in head.page.inner_text("main")
    _fits(head)
    head.screenshot("dept_head_feedback")
    head.page.click("form[action$='/acknowledge'] button")
    head.page.wait_for_load_state("domcontentloaded")
    assert "已于" in head.page.inner_text("main")


def test_h_a_county_auditor_strikes_off_a_finding_the_hospital_answered(journey):
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.models import FollowupTask, Hospital, Level, Region, User
    from followup.models.opinion import RectificationItem
    from followup.models.sample import SampledRecord
    from followup.rectification import complaints, ledger
    from followup.sampling.calls import record_attempt
    from followup.sampling.draw import DrawRequest, draw_sample
    from followup.sampling.population import month_period
    from followup.models import Discharge
    now = utcnow()
    hid = db.session.scalar(select(Hospital.id).where(Hospital.code == "H371502001"))
    # The month of the hospital's latest discharge (the demo's 30 days may or may not reach last month).
    month = db.session.scalar(select(func.max(Discharge.discharge_date)).where(Discharge.hospital_id == hid)).strftime("%Y-%m")
    for t in db.session.scalars(select(FollowupTask).where(FollowupTask.hospital_id == hid, FollowupTask.level == Level.HOSPITAL)):
        t.status, t.completed_at = "done", now
    county = db.session.scalar(select(Region).where(Region.code == "371502"))
    auditor = db.session.scalar(select(User).where(User.username == "county"))
    start, end = month_period(month)
    sample = draw_sample(DrawRequest(county, start, end, "0.05", "journey seed", ""), user=auditor)
    record = db.session.scalars(select(SampledRecord).where(SampledRecord.sample_id == sample.id)).first()
    assert record is not None, (sample.population_size, month)
    record_attempt(record, {"outcome": "answered", "hospital_called": "no", "satisfaction": 3, "opinions": ""},
                   user=auditor, now=now)
    item = db.session.scalars(select(RectificationItem).where(RectificationItem.source == "commission")).one()
    ledger.respond(item, user=None, cause="随访记录补录有误", measures="核查并重新随访，整改培训", now=now)
    complaints.add_evidence_text(item, "重新随访录音编号 LY-2026-001", user=None, now=now)
    item_id = item.id
    db.session.commit()
    db.session.remove()

    j = journey()
    j.sign_in("county")
    j.goto("/findings/")
    assert "东昌府区人民医院" in j.page.inner_text("main")
    _fits(j)
    j.page.click(f"main a[href='/findings/{item_id}'] >> nth=0")
    j.page.wait_for_load_state("domcontentloaded")
    j.check_language()
    assert "疑似虚假记录" in j.page.inner_text("main") and "随访记录补录有误" in j.page.inner_text("main")
    _fits(j)
    j.screenshot("auditor_finding")
    j.page.fill("form[action$='/close'] input[name=note]", "复核属实，予以销号")
    j.page.click("form[action$='/close'] button.primary")
    j.page.wait_for_load_state("domcontentloaded")
    j.check_language()
    assert "该督查问题已销号" in j.page.inner_text("main")
