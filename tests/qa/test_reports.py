"""Who sees the summary, its Excel and PDF exports, the commission ranking, and the monthly job
through a real rq worker."""
import io
from datetime import datetime, timezone

import openpyxl
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from followup import jobs
from followup.core.access import hospital_ids_select
from followup.jobs.maintenance import tick
from followup.models import JobState, OutboxJob
from followup.models.report import MonthlySummary
from followup.reports import commission

from .conftest import local

NOW = local(2026, 12, 3)


def test_qa_sees_the_summary_with_patients_words(november, as_user):
    page = as_user(november.world.qa).get("/qa/summary?month=2026-11")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "结账窗口排队一个多小时" in body and "王护士很耐心" in body
    assert 'data-charts="' in body and "<script>" not in body


def test_nurses_and_responders_never_see_the_summary(november, as_user):
    w = november.world
    for user in (w.nurse, w.responder, w.centre, w.sys_admin):
        c = as_user(user)
        assert c.get("/qa/summary?month=2026-11").status_code == 404, user.username
        assert c.get("/qa/summary.xlsx?month=2026-11").status_code == 404, user.username
        assert c.get("/qa/opinions").status_code == 404, user.username
        assert c.get("/commission/").status_code == 404, user.username
        if user is not w.responder:
            assert c.get("/ledger/").status_code == 404, user.username


def test_auditors_see_their_regions_figures_without_patients_words(november, as_user):
    w = november.world
    county = as_user(w.county_auditor)
    body = county.get(f"/qa/summary?hospital={w.hospital_a.id}&month=2026-11").get_data(as_text=True)
    assert "收费处" in body and "结账窗口排队一个多小时" not in body and "结账排队" not in body
    assert county.get(f"/qa/summary?hospital={w.hospital_b.id}&month=2026-11").status_code == 404
    assert county.get("/qa/opinions").status_code == 404
    city = as_user(w.city_auditor)
    assert city.get(f"/qa/summary?hospital={w.hospital_b.id}&month=2026-11").status_code == 200
    xlsx = openpyxl.load_workbook(io.BytesIO(city.get(
        f"/qa/summary.xlsx?hospital={w.hospital_a.id}&month=2026-11").data), read_only=True)
    assert not any(name in xlsx.sheetnames for name in ("Complaints", "投诉", "Praise", "表扬"))


def test_excel_export_has_one_sheet_per_section_and_reads_back(november, as_user):
    resp = as_user(november.world.qa).get("/qa/summary.xlsx?month=2026-11")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True, data_only=True)
    assert len(wb.sheetnames) == 13  # with the plans' rates, the definitions and three chart sheets
    overview = {r[0]: r[1] for r in wb[wb.sheetnames[0]].iter_rows(min_row=2, values_only=True)}
    # eligible 4, of which 1 not yet due: due 3, reached 2 (66.7%), on time 1 (33.3%)
    assert overview["符合条件"] == 4 and overview["到期应随访"] == 3 and overview["随访率(%)"] == 66.7
    assert overview["原始随访率(%)"] == 66.7 and overview["及时率(%)"] == 33.3
    complaints = list(wb["投诉"].iter_rows(min_row=2, values_only=True))
    assert [r[3] for r in complaints] == ["结账窗口排队一个多小时"]
    ledger_rows = list(wb[wb.sheetnames[-1]].iter_rows(min_row=2, values_only=True))
    assert len(ledger_rows) == 3


def test_pdf_export_is_a_pdf_with_the_hospital_name(november, as_user):
    resp = as_user(november.world.qa).get("/qa/summary.pdf?month=2026-11")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    assert len(resp.data) > 5000


def test_commission_ranks_by_the_chosen_metric_best_first(november):
    w = november.world
    sel = hospital_ids_select(w.city_auditor)
    rows = commission.table(sel, "2026-11", now=NOW)
    assert [r["name"] for r in rows[:2]] == ["阳谷县人民医院", "东昌府区人民医院"]  # 100% then 50%
    assert [r["rank"] for r in rows] == [1, 2, None]  # the city hospital had no discharges
    a = next(r for r in rows if r["name"] == "东昌府区人民医院")
    assert (a["complaints"], a["complaints_per_1000"], a["open_items"], a["satisfaction"]) == (1, 200.0, 3, 4.0)
    by_open = commission.table(sel, "2026-11", now=NOW, sort="open_items")
    assert [(r["name"], r["rank"]) for r in by_open] == [("聊城市人民医院", 1), ("阳谷县人民医院", 1),
                                                        ("东昌府区人民医院", 3)]
    counties = commission.table(sel, "2026-11", now=NOW, level="county")
    assert {r["name"]: r["eligible"] for r in counties} == {"东昌府区": 4, "阳谷县": 1, "聊城市": 0}
    assert next(r for r in counties if r["name"] == "聊城市")["city_direct"]


def test_commission_page_is_the_auditors_region_only_and_exports(november, as_user):
    w = november.world
    county = as_user(w.county_auditor)
    body = county.get("/commission/?month=2026-11&level=county").get_data(as_text=True)
    assert "东昌府区人民医院" in body and "阳谷县人民医院" not in body
    wb = openpyxl.load_workbook(io.BytesIO(county.get("/commission/export.xlsx?month=2026-11").data))
    header, *rows = list(wb.active.iter_rows(values_only=True))
    col = {name: i for i, name in enumerate(header)}
    assert [(r[0], r[1], r[col["随访率(%)"]], r[col["原始随访率(%)"]], r[col["出院后死亡"]]) for r in rows] == [
        (1, "东昌府区人民医院", 66.7, 66.7, 0)]
    assert "随访率 = 已随访 ÷ (到期应随访 − 有记录的例外)。" in body
    assert county.get("/commission/?sort=name;drop").status_code == 400


def test_the_first_tick_of_a_month_generates_the_month_before_through_a_real_worker(
        november, make_app, redis_url, db):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        from followup.jobs.queue import get_queue, redis_connection
        first_of_december = datetime(2026, 11, 30, 16, 5, tzinfo=timezone.utc)  # 00:05 local, 1 Dec
        rows = tick(now=first_of_december)
        fan_out = next(r for r in rows if r.name == "monthly_summaries")
        assert fan_out.args == ["2026-11"]
        assert tick(now=first_of_december)[0].id == rows[0].id  # once per month
        SimpleWorker([get_queue("reports")], connection=redis_connection(),
                     serializer=JSONSerializer).work(burst=True)
        db.session.expire_all()
        done = db.session.scalars(select(OutboxJob).where(OutboxJob.name == "monthly_summary")).all()
        assert len(done) == 3 and {j.state for j in done} == {JobState.DONE}
        snap = db.session.scalar(select(MonthlySummary).where(
            MonthlySummary.hospital_id == november.world.hospital_a.id, MonthlySummary.month == "2026-11"))
        assert snap.data["totals"]["eligible"] == 4 and snap.data["ledger"]["open"] == 3
        # ... and each department's feedback notice for the month (rectification/feedback.py)
        from followup.models.department import DepartmentFeedback
        notices = db.session.scalars(select(DepartmentFeedback).where(DepartmentFeedback.month == "2026-11")).all()
        assert {n.ward_id for n in notices if n.hospital_id == november.world.hospital_a.id} == {
            november.world.cardiology.id, november.world.orthopaedics.id, november.cashier.id}
        assert all(n.acknowledged_at is None for n in notices)


def test_qa_generates_a_summary_on_demand(november, as_user, db):
    c = as_user(november.world.qa)
    assert c.post("/qa/summary/generate", data={"month": "2026-10"}).status_code == 302
    snap = db.session.scalar(select(MonthlySummary).where(MonthlySummary.month == "2026-10"))
    assert snap.hospital_id == november.world.hospital_a.id and snap.data["totals"]["discharges"] == 2
    resp = c.get(f"/qa/summary/snapshots/{snap.id}.xlsx")
    assert resp.status_code == 200
    assert as_user(november.world.nurse).post("/qa/summary/generate", data={"month": "2026-10"}).status_code == 404
    assert jobs.registered()["monthly_summary"][1] == "reports"
