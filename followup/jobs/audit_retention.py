"""Daily audit housekeeping: the monthly partitions made ahead of time (PostgreSQL), and the
retention purge (policy retention, never below 180 days)."""
import logging

from sqlalchemy import text

from ..core.clock import utcnow
from ..extensions import db
from ..ops.partitions import ensure_audit_partitions
from ..security.retention import purge_audit
from . import job
from .maintenance import PERIODIC, Periodic

log = logging.getLogger(__name__)


@job("audit_retention")
def audit_retention():
    """Where the app runs as its own role (it cannot write anchors), the owner runs
    `flask followup purge-audit` instead; this job then says so and does nothing."""
    if db.session.get_bind().dialect.name == "postgresql" and not db.session.scalar(
            text("SELECT has_table_privilege('audit_anchor', 'INSERT')")):
        log.info("audit retention skipped: this role cannot write anchors; run purge-audit as the owner")
        return
    purge_audit(now=utcnow())
    db.session.commit()


@job("audit_partitions")
def audit_partitions():
    """This month's partition of the audit log and the next ones, made ahead of time (a missed
    day or two changes nothing: rows of a month without a partition go to the default one)."""
    made = ensure_audit_partitions(db.session, utcnow())
    db.session.commit()
    if made:
        log.info("audit partitions made: %s", ", ".join(made))


PERIODIC.append(Periodic(id="audit-retention", job="audit_retention", period="day"))
PERIODIC.append(Periodic(id="audit-partitions", job="audit_partitions", period="day"))
