"""Readiness: each dependency checked and reported on its own (database, read-only or not;
migrations at head; Redis and queue depths; the oldest unfinished outbox row). `/healthz` only
says the process answers; `/readyz` answers 503 when a dependency the service needs is down."""
from datetime import datetime

from sqlalchemy import func, select, text

from ..extensions import db
from ..models import JobState, OutboxJob


def check(config, migrations_dir: str, now: datetime) -> tuple[bool, dict]:
    """(ready, report). Never raises: a failing part is reported as such."""
    parts = {"database": _part(_database), "migrations": _part(_migrations, migrations_dir),
             "redis": _part(_redis, config), "outbox": _part(_outbox, now)}
    ready = all(p["ok"] for name, p in parts.items() if name != "outbox")
    return ready, {"status": "ready" if ready else "unavailable", **parts}


def _part(fn, *args) -> dict:
    try:
        return fn(*args)
    except Exception as exc:  # the dependency is down: say which and why, never a 500
        db.session.rollback()
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]}


def _database() -> dict:
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(select(1))
        return {"ok": True, "read_only": False}
    db.session.execute(text("SET LOCAL statement_timeout = 2000"))
    read_only = db.session.execute(text("SHOW transaction_read_only")).scalar() == "on"
    standby = db.session.execute(text("SELECT pg_is_in_recovery()")).scalar()
    db.session.rollback()
    ok = not (read_only or standby)
    report = {"ok": ok, "read_only": bool(read_only or standby)}
    if not ok:
        report["error"] = "the database accepts no writes (read-only or a standby)"
    return report


def _migrations(migrations_dir: str) -> dict:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    cfg = Config()
    cfg.set_main_option("script_location", migrations_dir)
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    db.session.rollback()
    ok = current == heads
    report = {"ok": ok, "current": sorted(current), "heads": sorted(heads)}
    if not ok:
        report["error"] = "the database schema is not at the code's migration heads"
    return report


def _redis(config) -> dict:
    if not config.get("REDIS_URL"):
        return {"ok": True, "mode": "in-process"}
    from ..jobs import QUEUES
    from ..jobs.queue import redis_connection
    conn = redis_connection()
    conn.ping()
    pipe = conn.pipeline(transaction=False)
    for name in QUEUES:
        pipe.llen(f"rq:queue:{name}")
    return {"ok": True, "queues": dict(zip(QUEUES, pipe.execute()))}


def _outbox(now: datetime) -> dict:
    open_states = [JobState.PENDING, JobState.ENQUEUED, JobState.RUNNING]
    count, oldest = db.session.execute(
        select(func.count(), func.min(OutboxJob.created_at)).where(OutboxJob.state.in_(open_states))).one()
    db.session.rollback()
    if oldest is not None and oldest.tzinfo is None:
        from datetime import timezone
        oldest = oldest.replace(tzinfo=timezone.utc)
    return {"ok": True, "open": count,
            "oldest_age_s": round((now - oldest).total_seconds(), 1) if oldest else None}
