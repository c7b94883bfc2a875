"""The audit log by month (migration 0020): on PostgreSQL each event lands in the partition of its
local month, a month without a partition never refuses an event, the daily job makes next
month's partition, retention drops whole old months, and the chain verifies across months. On
SQLite the table stays plain and the same calls change nothing."""
from datetime import date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from followup import jobs
from followup.core import audit
from followup.core.clock import LOCAL_TZ, utcnow
from followup.models import AuditEvent
from followup.models.security import AuditAnchor
from followup.ops.partitions import ensure_audit_partitions, monthly_partitions, partitioned
from followup.security.retention import purge_audit


def _pg(db) -> bool:
    return db.engine.dialect.name == "postgresql"


def _where(db, event_id: int) -> str:
    return db.session.scalar(text("SELECT tableoid::regclass::text FROM audit_event WHERE id = :i"), {"i": event_id})


def _exists(db, name: str) -> bool:
    return db.session.scalar(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name})


def _local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def test_an_event_lands_in_the_partition_of_its_local_month(db):
    made = ensure_audit_partitions(db.session, _local(2031, 1, 15))
    db.session.commit()
    last_of_january = audit.record("test.january", now=_local(2031, 1, 31, 23, 59, 59))  # 15:59:59 UTC
    first_of_february = audit.record("test.february", now=_local(2031, 2, 1, 0, 0, 0))  # still 31 Jan in UTC
    db.session.commit()
    if not _pg(db):
        assert made == [] and not partitioned(db.session) and monthly_partitions(db.session) == []
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.id == first_of_february.id))
        return
    assert partitioned(db.session)
    assert made == ["audit_event_2031_01", "audit_event_2031_02", "audit_event_2031_03"]
    assert _where(db, last_of_january.id) == "audit_event_2031_01"
    assert _where(db, first_of_february.id) == "audit_event_2031_02"
    assert ensure_audit_partitions(db.session, _local(2031, 1, 15)) == []  # idempotent


def test_an_event_of_a_month_without_a_partition_is_kept_and_moved_when_its_month_is_made(db):
    at = _local(2033, 6, 10, 9, 0)
    ev = audit.record("test.before.its.partition", now=at)
    db.session.commit()
    ev_id, ev_hash = ev.id, ev.hash
    if not _pg(db):
        assert ensure_audit_partitions(db.session, at) == []
        assert db.session.get(AuditEvent, ev_id).hash == ev_hash
        return
    assert _where(db, ev_id) == "audit_event_default"
    assert ensure_audit_partitions(db.session, at, ahead=0) == ["audit_event_2033_06"]
    db.session.commit()
    assert _where(db, ev_id) == "audit_event_2033_06"
    assert db.session.scalar(text("SELECT count(*) FROM audit_event_default WHERE id = :i"), {"i": ev_id}) == 0
    assert db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == ev_id)) == ev_hash
    # The default partition is attached again, append-only trigger included.
    later = audit.record("test.elsewhere", now=_local(2036, 2, 2))
    db.session.commit()
    assert _where(db, later.id) == "audit_event_default"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_event_default"))
    db.session.rollback()
    assert audit.verify_chain()[0]


def test_the_daily_job_makes_next_months_partition(db):
    from followup.jobs.maintenance import PERIODIC
    jobs.registered()
    assert any(p.job == "audit_partitions" and p.period == "day" for p in PERIODIC)
    today = utcnow().astimezone(LOCAL_TZ).date()
    following = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    name = f"audit_event_{following:%Y_%m}"
    if _pg(db):
        db.session.execute(text(f'DROP TABLE IF EXISTS "{name}"'))  # as if the migration ran a month ago
        db.session.commit()
        assert not _exists(db, name)
    row = jobs.submit("audit_partitions")
    db.session.commit()
    assert jobs.run_outbox(row.id) == "done"
    if _pg(db):
        assert _exists(db, name)
        ev = audit.record("test.next.month", now=_local(following.year, following.month, 1, 8, 0))
        db.session.commit()
        assert _where(db, ev.id) == name


def _across_a_month_end(db, year: int, month: int) -> list[int]:
    """Two events just before local midnight of the month's last day, two just after; committed
    in two transactions. Returns their ids."""
    nxt = (year + (month == 12), month % 12 + 1)
    ensure_audit_partitions(db.session, _local(year, month, 2), ahead=1)
    db.session.commit()
    last_day = (_local(*nxt, 1) - _local(year, month, 1)).days
    before = [audit.record("test.boundary", object_id=s, now=_local(year, month, last_day, 23, 59, s))
              for s in (58, 59)]
    db.session.commit()
    after = [audit.record("test.boundary", object_id=s, now=_local(*nxt, 1, 0, 0, s)) for s in (0, 1)]
    db.session.commit()
    return [e.id for e in before + after]


def test_the_chain_verifies_across_a_month_boundary(db, runner):
    ids = _across_a_month_end(db, 2032, 3)
    if _pg(db):
        assert [_where(db, i) for i in ids] == ["audit_event_2032_03"] * 2 + ["audit_event_2032_04"] * 2
    ok, checked, bad = audit.verify_chain()
    assert ok and bad is None and checked == 4
    result = runner.invoke(args=["followup", "verify-audit"])
    assert result.exit_code == 0 and "verified" in result.output


@pytest.mark.breaks_audit_chain
def test_an_edit_in_the_next_months_partition_is_caught(db, runner):
    ids = _across_a_month_end(db, 2032, 5)
    if _pg(db):
        db.session.execute(text("SET LOCAL session_replication_role = replica"))  # a superuser's edit
    db.session.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :i"), {"i": ids[2]})
    db.session.commit()
    result = runner.invoke(args=["followup", "verify-audit"])
    assert result.exit_code != 0 and f"broken at event {ids[2]}" in result.output


def test_retention_drops_old_months_whole_and_deletes_the_rest_row_by_row(db):
    now = utcnow()
    ensure_audit_partitions(db.session, _local(2020, 1, 10), ahead=1)
    db.session.commit()
    audit.record("old.no.partition", now=_local(2019, 6, 1))
    for d in (3, 4, 5):
        audit.record("old.january", now=_local(2020, 1, d))
    for d in (3, 4):
        audit.record("old.february", now=_local(2020, 2, d))
    audit.record("recent", now=now)
    audit.record("old.february.after.a.recent.one", now=_local(2020, 2, 20))
    db.session.commit()
    assert purge_audit(now=now, days=365) == 6
    db.session.commit()
    left = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert left == ["recent", "old.february.after.a.recent.one", "audit.purge"]
    assert db.session.scalar(select(AuditAnchor.purged)) == 6
    if _pg(db):
        assert not _exists(db, "audit_event_2020_01")  # dropped whole
        assert _exists(db, "audit_event_2020_02")      # holds a row after the purged prefix
    ok, checked, bad = audit.verify_chain()
    assert ok and checked == 3


def test_the_migration_down_and_up_keeps_every_event_and_the_chain(app, db):
    from flask_migrate import downgrade, upgrade
    ensure_audit_partitions(db.session, _local(2034, 1, 5), ahead=1)
    db.session.commit()
    for at in (_local(2010, 5, 5), _local(2034, 1, 31, 23, 0), _local(2034, 2, 1, 1, 0)):
        audit.record("test.migrated", now=at)
    db.session.commit()
    before = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id)).all()
    db.session.remove()
    downgrade(revision="0018")
    assert not partitioned(db.session)
    assert db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id)).all() == before
    assert audit.verify_chain()[0]
    db.session.remove()
    upgrade(revision="heads")
    after = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id)).all()
    assert after == before and audit.verify_chain()[0]
    if _pg(db):
        assert partitioned(db.session)
        assert [_where(db, i) for i, _ in after] == ["audit_event_2010_05", "audit_event_2034_01",
                                                      "audit_event_2034_02"]
        new = audit.record("test.after.upgrade")  # ids go on from the same sequence
        db.session.commit()
        assert new.id > after[-1].id and audit.verify_chain()[0]
