"""Exports of large months run as jobs: the page polls, the file is kept for the person who
asked, and the download is audited."""
import io

import openpyxl
import pytest
from sqlalchemy import select

from followup.extensions import db
from followup.models import AuditEvent
from followup.models.work import WorkRequest, WorkStatus


def test_a_large_month_summary_is_exported_by_a_job_for_its_owner_only(november, as_user, app):
    app.config["EXPORT_INLINE_MAX_DISCHARGES"] = 3  # november has 5 discharges in hospital A
    qa = as_user(november.world.qa)
    resp = qa.get("/qa/summary.xlsx?month=2026-11")
    work = db.session.scalars(select(WorkRequest)).one()
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/work/{work.id}")
    assert (work.kind, work.status, work.params["format"]) == ("summary_export", WorkStatus.DONE, "xlsx")
    page = qa.get(f"/work/{work.id}").get_data(as_text=True)
    assert f"/work/{work.id}/download" in page
    assert as_user(november.world.hospital_admin).get(f"/work/{work.id}/download").status_code == 404
    file = qa.get(f"/work/{work.id}/download")
    wb = openpyxl.load_workbook(io.BytesIO(file.data), read_only=True)
    app.config["EXPORT_INLINE_MAX_DISCHARGES"] = 10**6  # the same export made in the request
    inline = openpyxl.load_workbook(io.BytesIO(qa.get("/qa/summary.xlsx?month=2026-11").data), read_only=True)
    assert wb.sheetnames == inline.sheetnames and len(wb.sheetnames) >= 8
    assert "attachment" in file.headers["Content-Disposition"]
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "work_request")).all() \
        == ["summary.export"]
    assert db.session.scalar(select(WorkRequest.id).where(WorkRequest.id != work.id)) is None


def test_a_small_month_is_still_made_in_the_request(november, as_user):
    resp = as_user(november.world.qa).get("/qa/summary.xlsx?month=2026-11")
    assert resp.status_code == 200 and db.session.scalar(select(WorkRequest.id)) is None


def test_pdf_and_commission_exports_by_job(november, as_user, app):
    app.config["EXPORT_INLINE_MAX_DISCHARGES"] = 0
    qa = as_user(november.world.qa)
    qa.get("/qa/summary.pdf?month=2026-11")
    county = as_user(november.world.county_auditor)
    county.get("/commission/export.xlsx?month=2026-11")
    pdf, table = db.session.scalars(select(WorkRequest).order_by(WorkRequest.id)).all()
    assert qa.get(f"/work/{pdf.id}/download").data.startswith(b"%PDF-")
    wb = openpyxl.load_workbook(io.BytesIO(county.get(f"/work/{table.id}/download").data))
    rows = list(wb.active.iter_rows(values_only=True))
    app.config["EXPORT_INLINE_MAX_DISCHARGES"] = 10**6  # the same table made in the request
    inline = openpyxl.load_workbook(io.BytesIO(county.get("/commission/export.xlsx?month=2026-11").data))
    assert rows == list(inline.active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["东昌府区人民医院"]


def test_a_job_that_gave_up_shows_as_failed(november, as_user, app, monkeypatch):
    app.config["EXPORT_INLINE_MAX_DISCHARGES"] = 0
    monkeypatch.setattr("followup.reports.monthly.build", lambda *a, **k: 1 / 0)
    qa = as_user(november.world.qa)
    qa.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    qa.get("/qa/summary.xlsx?month=2026-11")
    work = db.session.scalars(select(WorkRequest)).one()
    from followup import jobs
    for _ in range(4):  # the outbox retries up to max_attempts (5: one ran in the request), then gives up
        with pytest.raises(ZeroDivisionError):
            jobs.run_outbox(work.outbox_id)
    assert qa.get(f"/work/{work.id}/progress").get_data(as_text=True).count("Failed") == 1
    assert "failed after several attempts" in qa.get(f"/work/{work.id}/progress").get_data(as_text=True)
