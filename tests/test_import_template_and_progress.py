"""The import template (issue 15 point 8) imports as it is; the progress a batch reports while it
runs (point 9) is consistent: rows done ≤ total, rejected ≤ read, a time left once a chunk of
this run is in, and a finished batch shows its result, not a bar."""
import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from flask import current_app
from sqlalchemy import update

from followup.core.clock import utcnow
from followup.extensions import db
from followup.imports.batches import receive_bytes
from followup.imports.headers import FIELD_ALIASES, REQUIRED_COLUMNS, ColumnMap
from followup.imports.progress import progress
from followup.imports.run import ImportSettings, run_batch
from followup.models import Discharge
from followup.models.imports import ImportBatch
from tests.import_files import counts, csv_bytes, imported, row


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_downloaded_template_imports_its_example_and_names_the_importers_columns(world, as_user, fmt):
    resp = as_user(world.hospital_admin).get(f"/imports/template.{fmt}")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    if fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    else:
        wb = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True)
        header, *rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        guide = [c for r in wb.worksheets[1].iter_rows(values_only=True) for c in r if c]
        assert "离院方式" in guide and "医嘱转社区卫生服务机构/乡镇卫生院" in guide and "死亡" in guide
    # every field the importer knows, by the name it knows it by first; required ones marked *
    assert {h.rstrip("*") for h in header} == {aliases[0] for aliases in FIELD_ALIASES.values()}
    assert {h.rstrip("*") for h in header if h.endswith("*")} == {FIELD_ALIASES[f][0] for f in REQUIRED_COLUMNS}
    ColumnMap(header)  # the importer's own reading of the header: no missing column, no duplicate
    assert len(rows) == 1 and "心内科" in rows[0]  # the example names one of the hospital's wards
    b = imported(world, resp.data, filename=f"template.{fmt}")
    assert b.status == "completed" and counts(b) == (1, 1, 0, 0, 0), b.error
    d = db.session.query(Discharge).one()
    assert d.disposition == "1" and d.ward_id == world.cardiology.id


def test_only_the_hospital_admin_downloads_the_template_and_the_page_lists_the_codes(world, as_user):
    assert as_user(world.nurse).get("/imports/template.csv").status_code == 404
    assert as_user(world.hospital_admin).get("/imports/template.pdf").status_code == 404
    page = as_user(world.hospital_admin).get("/imports/").get_data(as_text=True)
    assert 'id="template-xlsx"' in page and "医嘱转院" in page and "住院号*" in page


@pytest.fixture
def stopped_after_two_chunks(world, app, monkeypatch):
    """A batch of 9 rows (3 rejected, 2 of them in the first 4) in chunks of 2, whose run is
    killed as it writes its third chunk: a batch in progress as the page sees it."""
    from followup.imports import write
    app.config["IMPORT_CHUNK_ROWS"] = 2
    rows = [row(no=f"P{i}", id_number="", name="" if i in (1, 2, 7) else "张三") for i in range(9)]
    batch, _ = receive_bytes(world.hospital_a, csv_bytes(rows), source=None, channel="upload", now=utcnow(),
                             submit_job=False)
    db.session.commit()
    real, calls = write.ChunkWriter.write, []

    def dies_on_third_chunk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("worker killed")
        return real(self, *args, **kwargs)
    monkeypatch.setattr(write.ChunkWriter, "write", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_batch(batch.id, ImportSettings.from_app(current_app))
    db.session.rollback()
    monkeypatch.setattr(write.ChunkWriter, "write", real)
    db.session.expire_all()
    return db.session.get(ImportBatch, batch.id)


def test_a_batch_in_progress_reports_done_total_and_rejected_consistently(stopped_after_two_chunks):
    b = stopped_after_two_chunks
    p = progress(b, b.progress_at + timedelta(seconds=1))
    assert (p.status, p.finished) == ("running", False)
    assert (p.done, p.total, p.read, p.rejected) == (4, 9, 4, 2)
    assert p.accepted + p.rejected == p.read <= p.done <= p.total
    assert p.percent == 44
    # this run's speed so far gives the time left; before any chunk of a new run, none
    assert p.seconds_left is not None and p.seconds_left >= 1
    b.run_started_at, b.run_rows_from = b.progress_at + timedelta(seconds=5), b.rows_done
    assert progress(b, b.run_started_at).seconds_left is None


def test_the_progress_page_says_rows_rejected_and_time_left_then_the_result(stopped_after_two_chunks, world, as_user):
    b = stopped_after_two_chunks
    client = as_user(world.hospital_admin)
    body = client.get(f"/imports/{b.id}/progress", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "已处理 4 / 9 行" in body and "已拒绝 2 行" in body and "<progress" in body and "hx-get" in body
    assert "预计" in body or "正在估算剩余时间" in body
    db.session.execute(update(ImportBatch).where(ImportBatch.id == b.id).values(lease_until=None))
    db.session.commit()
    assert run_batch(b.id, ImportSettings.from_app(current_app)) == "completed"
    db.session.expire_all()  # the writer thread committed on its own session
    resp = client.get(f"/imports/{b.id}/progress", headers={"HX-Request": "true"})
    assert resp.headers.get("HX-Refresh") == "true"
    page = client.get(f"/imports/{b.id}").get_data(as_text=True)
    assert "导入完成：读取 9 行，导入 6 行，拒绝 3 行。" in page and "<progress" not in page and "hx-get" not in page
