"""The hash-chained audit log and the encryption of phone numbers at rest."""
import pytest
from sqlalchemy import func, select, text

from followup.core import audit
from followup.models import AuditEvent, Patient


def _as_superuser(db, sql, params):
    """A deliberate fault: the database superuser edits the log behind the app's back. On
    PostgreSQL that means switching the append-only trigger off, which only a superuser can."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(sql), params)
    db.session.commit()


@pytest.mark.breaks_audit_chain
def test_audit_chain_verifies_and_detects_an_edited_row(world, db):
    for i in range(5):
        audit.record("test.event", object_type="x", object_id=i)
    db.session.commit()
    ok, n, bad = audit.verify_chain()
    assert ok and n >= 5 and bad is None
    victim = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(3).limit(1)).one()
    _as_superuser(db, "UPDATE audit_event SET object_id = 999 WHERE id = :i", {"i": victim.id})
    db.session.expire_all()
    ok, _, bad = audit.verify_chain()
    assert not ok and bad == victim.id


@pytest.mark.breaks_audit_chain
def test_audit_chain_detects_a_deleted_row(world, db):
    for i in range(4):
        audit.record("test.event", object_id=i)
    db.session.commit()
    middle = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id).offset(2).limit(1)).one()
    _as_superuser(db, "DELETE FROM audit_event WHERE id = :i", {"i": middle})
    assert audit.verify_chain()[0] is False


def test_phone_is_encrypted_at_rest_with_blind_index(world, db):
    d = world.discharge(phone="+8613812345678")
    raw = db.session.execute(text("SELECT phone, phone_hash FROM patient WHERE id = :i"),
                             {"i": d.patient_id}).one()
    assert b"13812345678" not in bytes(raw.phone)
    assert raw.phone_hash and "13812345678" not in raw.phone_hash
    db.session.expire_all()
    assert db.session.get(Patient, d.patient_id).phone == "+8613812345678"


def test_audit_events_are_written_with_the_commit_and_dropped_with_a_rollback(world, db):
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    audit.record("test.rolled_back")
    db.session.rollback()
    audit.record("test.kept_a")
    with db.session.begin_nested():  # a savepoint rolled back does not drop the outer events
        audit.record("test.kept_b")
    db.session.commit()
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert len(actions) == before + 2 and actions[-2:] == ["test.kept_a", "test.kept_b"]
    assert audit.verify_chain()[0]


def test_concurrent_commits_keep_one_unbroken_chain(make_app, world, db):
    import threading
    errors = []

    def worker(n, flask_app):
        with flask_app.app_context():
            try:
                for i in range(10):
                    audit.record("test.concurrent", object_id=n * 100 + i)
                    db.session.commit()
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    flask_app = make_app()
    threads = [threading.Thread(target=worker, args=(n, flask_app)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    db.session.expire_all()
    n = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.concurrent"))
    assert n == 40
    ok, _, bad = audit.verify_chain()
    assert ok, bad
