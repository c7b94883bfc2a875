"""Structured logs: JSON lines with Chinese kept, phones and ID numbers masked in every field, and
the web request's id carried into the job it caused (through the outbox row, then rq)."""
import io
import json
import logging

import pytest
import structlog
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from followup.core import logs
from followup.jobs.queue import get_queue, redis_connection
from followup.models import OutboxJob
from followup.models.work import WorkRequest


@pytest.fixture
def log_lines():
    buf = io.StringIO()
    logs.configure("INFO", json=True, stream=buf)
    yield lambda: [json.loads(line) for line in buf.getvalue().splitlines() if line.startswith("{")]
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_followup", False)]:
        root.removeHandler(h)
    structlog.reset_defaults()


def test_lines_are_json_with_chinese_kept_and_personal_numbers_masked(log_lines):
    structlog.get_logger("t").info("张三 来电 13812345678", id_number="11010519491231002X",
                                   nested={"phone": "+86 13912345678"}, order="订单 202611301234567890123")
    logging.getLogger("plain").warning("患者 %s 身份证 %s", "13812345678", "110105491231002")
    a, b = log_lines()
    assert a["event"] == "张三 来电 138****5678" and a["id_number"] == "110105************"
    assert a["nested"]["phone"].endswith("139****5678") and a["order"] == "订单 202611301234567890123"
    assert b["event"] == "患者 138****5678 身份证 110105*********" and b["level"] == "warning"


def test_mask_leaves_other_numbers_alone():
    assert logs.mask_text("batch 12 rows 5000 at 2026-11-30") == "batch 12 rows 5000 at 2026-11-30"
    assert logs.mask_text("x138123456789") == "x138123456789"  # 12 digits: not a mobile


def test_a_request_id_travels_from_the_request_into_the_jobs_log(world, as_user, app, redis_url, log_lines):
    from followup.extensions import db
    app.config["REDIS_URL"] = redis_url
    world.discharge(world.cardiology)
    client = as_user(world.county_auditor)
    resp = client.post("/sampling/draw", data={"period": "2026-11", "rate": "1", "public_seed": "x"},
                       headers={"X-Request-ID": "req-from-nginx-0001"})
    assert resp.headers["X-Request-ID"] == "req-from-nginx-0001"
    work = db.session.scalars(select(WorkRequest)).one()
    row = db.session.get(OutboxJob, work.outbox_id)
    assert row.request_id == "req-from-nginx-0001"
    job = get_queue(row.queue).fetch_job(f"outbox-{row.id}-{row.attempts}")
    assert job.meta["request_id"] == "req-from-nginx-0001" and job.args == [row.id]
    db.session.rollback()
    SimpleWorker([get_queue("reports")], connection=redis_connection(),
                 serializer=JSONSerializer).work(burst=True)
    job_lines = [line for line in log_lines() if line.get("outbox_id") == row.id]
    assert {line["event"] for line in job_lines} >= {"job started", "job done"}
    assert {line["request_id"] for line in job_lines} == {"req-from-nginx-0001"}
    assert all(line["job"] == "sample_draw" for line in job_lines)


def test_a_request_without_an_id_gets_one_and_a_forged_one_is_replaced(client):
    a = client.get("/healthz").headers["X-Request-ID"]
    b = client.get("/healthz", headers={"X-Request-ID": "bad id; <script>"}).headers["X-Request-ID"]
    assert len(a) == 32 and len(b) == 32 and a != b
