"""Long-running processes and outages: leases and heartbeats instead of a stale threshold, cron
and the worker surviving database and Redis outages."""
import os
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from followup import jobs
from followup.core.clock import utcnow
from followup.jobs.maintenance import reconcile
from followup.models import AuditEvent, JobState, OutboxJob


@jobs.job("test_slow_marker")
def slow_marker(marker: int, seconds: float = 0):
    from followup.core import audit
    from followup.extensions import db
    time.sleep(seconds)
    if not db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "test.slow",
                                                         AuditEvent.object_id == marker)):
        audit.record("test.slow", object_id=marker)
        db.session.commit()


@jobs.job("test_busy")
def busy(_x: int):
    raise jobs.RetryLater("held by another run", seconds=30)


def _running(db, row_id, lease_until, token="a-dead-worker"):
    db.session.execute(update(OutboxJob).where(OutboxJob.id == row_id).values(
        state=JobState.RUNNING, attempts=1, lease_token=token, lease_until=lease_until))
    db.session.commit()


def test_a_job_whose_worker_died_is_re_driven_as_soon_as_its_lease_lapses(app, db):
    """Before: a running row was re-driven only 300 s after its last update (plus the cron
    interval): 5.5 minutes. Now: the next reconciler pass after the 30 s lease lapses."""
    assert app.config["JOB_LEASE_SECONDS"] + app.config["CRON_INTERVAL"] <= 60
    row = jobs.submit("test_slow_marker", 1)
    db.session.commit()
    now = utcnow()
    _running(db, row.id, lease_until=now + timedelta(seconds=app.config["JOB_LEASE_SECONDS"]))
    assert reconcile(now=now) == 0  # the lease is held: the worker may be alive
    assert reconcile(now=now + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)) == 1
    db.session.expire_all()
    assert db.session.get(OutboxJob, row.id).state == JobState.DONE


def test_a_running_job_renews_its_lease_while_it_runs_longer_than_the_lease(make_app, db):
    app = make_app(JOB_LEASE_SECONDS=1.2)
    with app.app_context():
        row = jobs.submit("test_slow_marker", 2, 3.0)
        db.session.commit()
        seen = []

        def watch():
            with app.app_context():
                for _ in range(5):
                    time.sleep(0.5)
                    seen.append(reconcile(now=utcnow()))
                db.session.remove()
        import threading
        t = threading.Thread(target=watch)
        t.start()
        assert jobs.run_outbox(row.id) == "done"
        t.join()
        assert seen and not any(seen)  # never re-driven while its heartbeat ran
        assert db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "test.slow")).all() == [2]


def test_a_run_that_lost_its_lease_cannot_mark_the_job_done(app, db):
    row = jobs.submit("test_slow_marker", 3)
    db.session.commit()

    def taken_over_meanwhile(marker, seconds=0):
        db.session.execute(update(OutboxJob).where(OutboxJob.id == row.id).values(lease_token="another-run"))
        db.session.commit()
    name_fn = jobs.registered()["test_slow_marker"]
    jobs._registry["test_slow_marker"] = (taken_over_meanwhile, name_fn[1])
    try:
        assert jobs.run_outbox(row.id) == "lost"
    finally:
        jobs._registry["test_slow_marker"] = name_fn
    db.session.expire_all()
    assert db.session.get(OutboxJob, row.id).state == JobState.RUNNING  # the other run finishes it


def test_a_job_that_must_wait_for_another_run_spends_no_attempt(app, db):
    """An import whose batch another run holds used to fail an attempt each time and give up
    after five; it now goes back to pending until the other run's lease can have lapsed."""
    row = jobs.submit("test_busy", 1, max_attempts=2)
    db.session.commit()
    for _ in range(4):
        jobs.dispatch([row.id])
        db.session.expire_all()
        r = db.session.get(OutboxJob, row.id)
        assert r.state == JobState.PENDING and r.attempts == 0
        assert reconcile(now=utcnow()) == 0  # not before its retry time
        db.session.execute(update(OutboxJob).where(OutboxJob.id == row.id).values(lease_until=None))
        db.session.commit()


def test_cron_survives_a_database_outage_and_carries_on_when_it_returns(app, runner, monkeypatch, caplog):
    """Before: `flask followup cron` exited with OperationalError and stayed dead."""
    from followup.jobs import maintenance
    calls = []

    def flaky_pass(now):
        calls.append(now)
        if len(calls) <= 3:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        os.kill(os.getpid(), signal.SIGTERM)  # the database is back: one good pass, then stop
        return 0, 0
    monkeypatch.setattr(maintenance, "cron_pass", flaky_pass)
    monkeypatch.setattr(maintenance.log, "disabled", False)  # alembic's fileConfig disables loggers
    monkeypatch.setattr(time, "sleep", lambda s: None)
    result = runner.invoke(args=["followup", "cron", "--interval", "0.01"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 4
    assert sum("cron pass failed" in r.getMessage() for r in caplog.records) == 3, [(r.name, r.getMessage()) for r in caplog.records]


def test_the_worker_keeps_retrying_while_redis_is_away(make_app, db, monkeypatch):
    """Before: rq's worker quit on a Redis error at start or mid-loop, and nothing restarted it."""
    from followup.jobs.queue import run_worker
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT=0.2)
    waits = []

    class Enough(Exception):
        pass

    def sleep(s):
        waits.append(s)
        if len(waits) == 4:
            raise Enough
    with app.app_context():
        with pytest.raises(Enough):
            run_worker(sleep=sleep)
    assert waits == [1.0, 2.0, 4.0, 8.0]  # exponential backoff, not an exit


# --- /healthz and /readyz ---------------------------------------------------------------------

def test_readyz_reports_each_dependency_and_healthz_only_the_process(make_app, redis_url, db):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        client = app.test_client()
        assert client.get("/healthz").json == {"status": "ok"}
        resp = client.get("/readyz")
        body = resp.json
        assert resp.status_code == 200 and body["status"] == "ready", body
        assert body["database"]["ok"] and body["database"]["read_only"] is False
        assert body["migrations"]["ok"] and body["migrations"]["current"] == body["migrations"]["heads"]
        assert body["redis"]["ok"] and set(body["redis"]["queues"]) == {"imports", "default", "reports"}
        assert body["outbox"]["open"] == 0 and body["outbox"]["oldest_age_s"] is None


def test_readyz_is_503_when_redis_is_down_or_the_schema_is_behind(make_app, db):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT=0.2)
    with app.app_context():
        jobs.submit("test_slow_marker", 9)
        db.session.commit()
        client = app.test_client()
        assert client.get("/healthz").status_code == 200  # the process is up
        body = client.get("/readyz")
        assert body.status_code == 503 and body.json["redis"]["ok"] is False and "error" in body.json["redis"]
        assert body.json["outbox"]["open"] == 1 and body.json["outbox"]["oldest_age_s"] >= 0
        from sqlalchemy import text
        head = db.session.scalar(text("SELECT max(version_num) FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001' WHERE version_num = :h"), {"h": head})
        db.session.commit()
        try:
            assert app.test_client().get("/readyz").json["migrations"]["ok"] is False
        finally:
            db.session.execute(text("UPDATE alembic_version SET version_num = :h WHERE version_num = '0001'"),
                               {"h": head})
            db.session.commit()


def test_a_read_only_database_is_reported_and_writes_answer_503_not_500(make_app, world, db):
    """Before: /healthz said ok while the database was read-only and sign-in answered 500."""
    from sqlalchemy import text
    app = make_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            # SQLite has no read-only switch; a write that fails the same way is simulated.
            from sqlalchemy import event
            def refuse(conn, cursor, statement, *a):
                if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
                    raise OperationalError(statement, {}, Exception("attempt to write a readonly database"))
            event.listen(db.engine, "before_cursor_execute", refuse)
            try:
                resp = app.test_client().post("/login", data={"username": "nurse_a", "password": world.PASSWORD})
                assert resp.status_code == 503 and resp.headers["Retry-After"]
            finally:
                event.remove(db.engine, "before_cursor_execute", refuse)
            return
        name = db.engine.url.database
        db.session.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        db.session.commit()
        db.engine.dispose()
        try:
            client = app.test_client()
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json["database"]["read_only"] is True
            resp = client.post("/login", data={"username": "nurse_a", "password": world.PASSWORD})
            assert resp.status_code == 503 and resp.headers["Retry-After"]
            api = client.post("/api/v1/tasks/next", headers={"Authorization": "Bearer x"})
            assert api.status_code != 500
        finally:
            db.session.rollback()
            db.session.execute(text("SET SESSION transaction_read_only = off"))  # this connection only
            db.session.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
            db.session.commit()
            db.engine.dispose()


# --- item 7: smaller answers ------------------------------------------------------------------

def test_a_405_names_the_allowed_methods(client):
    for path, method in [("/api/v1/calls/next", "PUT"), ("/login", "DELETE"), ("/healthz", "POST")]:
        resp = client.open(path, method=method)
        assert resp.status_code == 405 and resp.headers.get("Allow"), (path, resp.headers)
        assert method not in resp.headers["Allow"] and "OPTIONS" in resp.headers["Allow"]


def test_a_bearer_token_on_the_cookie_api_is_a_401_not_a_csrf_400(make_app, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        resp = app.test_client().post("/api/v1/calls/next", headers={"Authorization": "Bearer fu_abc"})
        assert resp.status_code == 401 and resp.json["code"] == 401


def test_the_claim_409_body_matches_its_documented_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    shape = spec["components"]["schemas"]["CallErrorOut"]["properties"]
    assert {"code", "status", "message", "version", "callable_at"} <= set(shape)


def test_a_database_error_in_a_log_never_shows_bound_values(app, db):
    """Before: a traceback in the web log printed the session token hash among the parameters."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    secret = "c0ffee" * 10
    with pytest.raises(DBAPIError) as err:
        db.session.execute(text("SELECT * FROM user_session WHERE token_hash = :h AND no_such_column = 1"),
                           {"h": secret})
    db.session.rollback()
    assert secret not in str(err.value) and "token_hash" in str(err.value)


def test_with_redis_away_a_cron_pass_still_submits_periodic_work_and_checkpoints(make_app, db):
    from followup.core import audit
    from followup.jobs.maintenance import cron_pass
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT=0.2)
    with app.app_context():
        row = jobs.submit("test_slow_marker", 11)
        db.session.commit()
        db.session.execute(update(OutboxJob).where(OutboxJob.id == row.id).values(
            state=JobState.ENQUEUED, updated_at=utcnow() - timedelta(minutes=1)))
        audit.record("test.event")
        db.session.commit()
        assert cron_pass(utcnow()) == (0, len(__import__("followup.jobs.maintenance", fromlist=["PERIODIC"]).PERIODIC))
        assert audit.write_checkpoint(utcnow()) is None  # the pass already checkpointed the head
        assert db.session.get(OutboxJob, row.id).state == JobState.ENQUEUED  # kept until Redis can tell
