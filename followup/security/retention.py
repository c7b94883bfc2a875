"""Audit retention: records older than the policy's retention are removed by this purge only,
never below the legal floor of 180 days, leaving an anchor so the chain still verifies. The
purge is itself audited."""
from datetime import timedelta

from sqlalchemy import delete, func, select, text

from ..core import audit
from ..extensions import db
from ..models import AuditEvent
from ..models.security import AUDIT_RETENTION_FLOOR_DAYS, AuditAnchor
from ..ops.partitions import monthly_partitions
from .policy import current_policy


class RetentionError(ValueError):
    pass


def purge_audit(*, now, days: int | None = None) -> int:
    """Delete audit events older than `days` (default: the policy). Refuses anything shorter
    than 180 days, whatever the configuration says. Flushes; returns rows removed."""
    days = current_policy().audit_retention_days if days is None else days
    if days < AUDIT_RETENTION_FLOOR_DAYS:
        raise RetentionError(f"audit retention of {days} days refused: the floor is "
                             f"{AUDIT_RETENTION_FLOOR_DAYS} days")
    cutoff = now - timedelta(days=days)
    # Only a prefix of the chain can go (the anchor continues it): stop before the first young row.
    first_young = db.session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.at >= cutoff))
    old = select(func.max(AuditEvent.id)).where(AuditEvent.at < cutoff)
    if first_young is not None:
        old = old.where(AuditEvent.id < first_young)
    through = db.session.scalar(old)
    if through is None:
        return 0
    last_hash = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == through))
    removed = _drop_whole_months(cutoff, through)
    if db.session.get_bind().dialect.name == "postgresql":
        # The append-only trigger lets this transaction delete rows past the legal floor only.
        db.session.execute(text("SELECT set_config('followup.audit_purge', 'on', true)"))
    removed += db.session.execute(delete(AuditEvent).where(AuditEvent.id <= through)).rowcount
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT set_config('followup.audit_purge', 'off', true)"))
    db.session.add(AuditAnchor(through_id=through, last_hash=last_hash, purged=removed, at=now,
                               mac=audit.anchor_mac(through, last_hash)))
    db.session.flush()
    audit.record("audit.purge", object_type="audit_event", object_id=through,
                 detail={"rows": removed, "retention_days": days}, now=now)
    return removed


def _drop_whole_months(cutoff, through: int) -> int:
    """Where the log is partitioned by month (PostgreSQL, migration 0020), drop each month
    partition that ended before the cutoff and holds only rows of the purged prefix (ids up to
    `through`): one catalogue change instead of a DELETE of every row. The trigger does not see
    a DROP, so the 180-day floor is checked here against the database's own clock too. Returns
    the rows dropped; what is left of the prefix is deleted row by row by the caller."""
    parts = monthly_partitions(db.session)  # none on SQLite, or before migration 0020
    if not parts:
        return 0
    removed = 0
    floor = db.session.scalar(text(f"SELECT now() - interval '{AUDIT_RETENTION_FLOOR_DAYS} days'"))
    for part in parts:
        if part.end > cutoff or part.end > floor:
            break  # oldest first: every later month ends later
        newest, rows = db.session.execute(text(f'SELECT max(id), count(*) FROM "{part.name}"')).one()
        if rows and newest > through:
            break  # a row of this month came after a young row: the chain's prefix ends here
        db.session.execute(text(f'DROP TABLE "{part.name}"'))
        removed += rows
    return removed
