"""A draw asked for on the page runs as a job keyed by region, period and round: the page polls
its progress, and a retried or doubled job never draws twice."""
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from followup import jobs
from followup.extensions import db
from followup.jobs.queue import enqueue_outbox, get_queue, redis_connection
from followup.models import JobState, OutboxJob
from followup.models.sample import AuditSample, SampledRecord
from followup.models.work import WorkRequest, WorkStatus
from followup.sampling import background

FORM = {"period": "2026-10", "rate": "1", "public_seed": "07 19 23"}


def _samples():
    return db.session.scalar(select(func.count()).select_from(AuditSample))


def test_the_draw_runs_as_a_job_and_the_page_lands_on_the_sample(world, populate, as_user):
    populate(world.cardiology, 120)
    client = as_user(world.county_auditor)
    resp = client.post("/sampling/draw", data=FORM)
    work = db.session.scalars(select(WorkRequest)).one()
    assert resp.headers["Location"].endswith(f"/work/{work.id}")
    assert (work.kind, work.status, work.params["draw_no"]) == ("sample_draw", WorkStatus.DONE, 1)
    sample = db.session.scalars(select(AuditSample)).one()
    assert work.result_sample_id == sample.id and sample.drawn_by_id == world.county_auditor.id
    assert client.get(f"/work/{work.id}").headers["Location"].endswith(f"/sampling/{sample.id}")
    # The person who asked sees the progress; nobody else, not even the same role elsewhere.
    assert as_user(world.city_auditor).get(f"/work/{work.id}").status_code == 404
    assert as_user(world.city_auditor).get(f"/work/{work.id}/progress").status_code == 404


def test_a_retried_draw_job_draws_once(world, populate, as_user, monkeypatch):
    populate(world.cardiology, 120)
    calls = []
    real = background.draw_sample

    def flaky(*a, **kw):  # the first attempt dies after drawing, before its commit
        sample = real(*a, **kw)
        calls.append(sample.id)
        if len(calls) == 1:
            raise ConnectionError("worker lost the database mid-draw")
        return sample
    monkeypatch.setattr(background, "draw_sample", flaky)
    as_user(world.county_auditor).post("/sampling/draw", data=FORM)
    work = db.session.scalars(select(WorkRequest)).one()
    row = db.session.get(OutboxJob, work.outbox_id)
    assert (row.state, row.attempts) == (JobState.PENDING, 1) and _samples() == 0
    assert jobs.run_outbox(row.id) == "done"          # the retry draws
    assert jobs.run_outbox(row.id) == "skipped"       # a late duplicate delivery does nothing
    background.run_draw(work.id, now=None)            # and neither does the job body run again
    db.session.expire_all()
    assert _samples() == 1 and len(calls) == 2
    assert db.session.get(WorkRequest, work.id).status == WorkStatus.DONE


def test_a_second_run_of_a_finished_round_finds_its_sample(world, populate, as_user):
    populate(world.cardiology, 50)
    as_user(world.county_auditor).post("/sampling/draw", data=FORM)
    work = db.session.scalars(select(WorkRequest)).one()
    work.status = WorkStatus.RUNNING  # as if the first run died after its commit, before saying so
    db.session.commit()
    background.run_draw(work.id, now=None)
    assert _samples() == 1 and db.session.get(WorkRequest, work.id).status == WorkStatus.DONE


def test_two_requests_for_the_same_round_are_one_draw(world, populate, as_user, app, redis_url):
    """With a real Redis and worker: the first request's job is still queued when the second
    click arrives; the second is refused, and the queued job, delivered twice, draws once."""
    app.config["REDIS_URL"] = redis_url
    populate(world.cardiology, 120)
    client = as_user(world.county_auditor)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.post("/sampling/draw", data=FORM).status_code == 302
    again = client.post("/sampling/draw", data=FORM)
    assert again.status_code == 422 and "already under way" in again.get_data(as_text=True)
    work = db.session.scalars(select(WorkRequest)).one()
    assert work.status == WorkStatus.QUEUED and _samples() == 0
    page = client.get(f"/work/{work.id}").get_data(as_text=True)
    assert "Waiting for a background worker" in page
    row = db.session.get(OutboxJob, work.outbox_id)
    row.attempts += 1  # a second rq job for the same outbox row (a re-drive): a different rq id
    enqueue_outbox(row)
    db.session.rollback()
    SimpleWorker([get_queue("reports")], connection=redis_connection(),
                 serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()
    assert _samples() == 1
    assert db.session.scalar(select(func.count()).select_from(SampledRecord)) == 2
    assert db.session.get(WorkRequest, work.id).status == WorkStatus.DONE
    assert "/sampling/" in client.get(f"/work/{work.id}").headers["Location"]
