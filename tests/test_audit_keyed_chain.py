"""The keyed audit chain: what an insider without the audit key cannot do unnoticed."""
import hashlib
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from followup.core import audit
from followup.core.clock import LOCAL_TZ, utcnow
from followup.models import AuditEvent
from followup.models.security import AuditAnchor


def _as_superuser(db, sql, params=None):
    """A deliberate fault: someone with full database rights works behind the app's back."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(sql), params or {})
    db.session.commit()


def _events(db, n, action="test.event"):
    for i in range(n):
        audit.record(action, object_type="x", object_id=i)
    db.session.commit()
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_an_event_recorded_in_shanghai_time_verifies_after_it_is_read_back_in_utc(db):
    audit.record("test.local_time", now=datetime(2026, 11, 20, 9, 30, tzinfo=LOCAL_TZ))
    db.session.commit()
    db.session.expire_all()
    assert audit.verify_chain()[0]


def test_a_freshly_seeded_demo_verifies(runner, db):
    result = runner.invoke(args=["followup", "seed-demo", "--discharges", "40"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["followup", "verify-audit"])
    assert result.exit_code == 0 and "verified" in result.output, result.output


def test_demo_id_numbers_pass_the_importers_own_check(runner, db):
    from followup.cli.demo_world import _resident_id
    from followup.imports.values import normalise_resident_id
    import random
    from datetime import date
    rng = random.Random(7)
    for _ in range(200):
        rid = _resident_id(rng, "371502", date(rng.randint(1935, 2005), rng.randint(1, 12), rng.randint(1, 28)),
                           rng.choice("12"))
        assert normalise_resident_id(rid) == rid


@pytest.mark.breaks_audit_chain
def test_a_chain_recomputed_without_the_key_does_not_verify(db):
    """Edit a row, then re-link every hash after it the way the old unkeyed chain did (SHA-256)."""
    rows = _events(db, 5)
    prev = rows[1].hash
    for ev in rows[2:]:
        body = json.dumps([prev, ev.at.isoformat(), ev.user_id, ev.username, ev.action, ev.object_type,
                           999 if ev is rows[2] else ev.object_id, ev.ip, ev.detail],
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        new = hashlib.sha256(body.encode()).hexdigest()
        _as_superuser(db, "UPDATE audit_event SET object_id = :o, prev_hash = :p, hash = :h WHERE id = :i",
                      {"o": 999 if ev is rows[2] else ev.object_id, "p": prev, "h": new, "i": ev.id})
        prev = new
    db.session.expire_all()
    ok, _, bad = audit.verify_chain()
    assert not ok and bad == rows[2].id


@pytest.mark.breaks_audit_chain
def test_deleting_the_newest_events_is_caught_by_the_checkpoint_outside_the_database(db, app):
    ids = [ev.id for ev in _events(db, 5)]
    cp = audit.write_checkpoint(utcnow())
    assert cp["id"] == ids[-1]
    assert audit.write_checkpoint(utcnow()) is None  # the head has not moved: nothing new to sign
    _as_superuser(db, "DELETE FROM audit_event WHERE id >= :i", {"i": ids[3]})
    db.session.expire_all()
    ok, _, bad = audit.verify_chain()
    assert not ok and bad == ids[-1]
    result = app.test_cli_runner().invoke(args=["followup", "verify-audit"])
    assert result.exit_code != 0


@pytest.mark.breaks_audit_chain
def test_a_forged_checkpoint_line_is_caught(db, app):
    rows = _events(db, 2)
    with open(audit.checkpoint_file(), "a") as fh:
        fh.write(json.dumps({"id": rows[0].id, "hash": rows[0].hash, "at": "2026-01-01T00:00:00+00:00",
                             "mac": "0" * 64}) + "\n")
    assert audit.verify_chain()[0] is False


@pytest.mark.breaks_audit_chain
def test_an_anchor_inserted_without_the_key_is_caught(db):
    """An anchor moves where verification starts: one not signed with the audit key is refused."""
    rows = _events(db, 4)
    db.session.add(AuditAnchor(through_id=rows[2].id, last_hash=rows[2].hash, purged=0, at=utcnow(), mac=""))
    db.session.commit()
    assert audit.verify_chain()[0] is False


def test_the_purge_leaves_a_signed_anchor(db):
    from followup.security.retention import purge_audit
    now = utcnow()
    audit.record("old.event", now=now - timedelta(days=400))
    audit.record("new.event", now=now)
    db.session.commit()
    assert purge_audit(now=now, days=365) == 1
    db.session.commit()
    anchor = db.session.scalar(select(AuditAnchor))
    assert anchor.mac == audit.anchor_mac(anchor.through_id, anchor.last_hash)
    assert audit.verify_chain()[0]


def test_the_app_role_owns_nothing_and_cannot_rewrite_the_audit_log(make_app, db, runner):
    """The role `flask followup db-roles` sets up: it appends audit events, does its business
    work, and is refused every way of changing history (UPDATE, DELETE, TRUNCATE, switching the
    trigger off, writing an anchor, moving the migration version, DDL)."""
    if db.engine.dialect.name != "postgresql":
        result = runner.invoke(args=["followup", "db-roles", "followup_app"])
        assert result.exit_code != 0 and "PostgreSQL only" in result.output
        return
    from sqlalchemy.exc import ProgrammingError
    role = f"fu_app_{db.engine.url.database}"[:60]
    printed = runner.invoke(args=["followup", "db-roles", role])
    assert printed.exit_code == 0 and "GRANT INSERT ON" in printed.output
    result = runner.invoke(args=["followup", "db-roles", role, "--apply"])
    assert result.exit_code == 0, result.output
    app_url = db.engine.url.set(username=role, password=None).render_as_string(hide_password=False)
    as_app = make_app(SQLALCHEMY_DATABASE_URI=app_url)
    try:
        with as_app.app_context():
            audit.record("test.as_app_role")
            db.session.commit()  # appending works
            assert db.session.scalar(text("SELECT count(*) FROM patient")) == 0
            for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event", "TRUNCATE audit_event",
                        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
                        "INSERT INTO audit_anchor (through_id, last_hash, purged, at, mac) VALUES (1, 'x', 0, now(), '')",
                        "UPDATE alembic_version SET version_num = 'x'", "DROP TABLE patient",
                        "CREATE TABLE sneaky (id int)",
                        # the monthly partitions are reached through audit_event only
                        "DELETE FROM audit_event_default", "TRUNCATE audit_event_default",
                        "DROP TABLE audit_event_default", "ALTER TABLE audit_event DETACH PARTITION audit_event_default",
                        "CREATE TABLE audit_event_2040_01 PARTITION OF audit_event "
                        "FOR VALUES FROM ('2040-01-01') TO ('2040-02-01')"):
                with pytest.raises(ProgrammingError, match="permission denied|must be owner"):
                    db.session.execute(text(sql))
                db.session.rollback()
            # ... yet it makes next month's partition (the daily job runs as this role)
            from followup.ops.partitions import ensure_audit_partitions
            assert ensure_audit_partitions(db.session, datetime(2040, 7, 1, tzinfo=LOCAL_TZ), ahead=0) == [
                "audit_event_2040_07"]
            db.session.commit()
            owner = db.session.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                                           "AND tableowner = current_user"))
            assert owner == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        db.session.execute(text(f'DROP OWNED BY "{role}"'))
        db.session.commit()
    assert audit.verify_chain()[0]
