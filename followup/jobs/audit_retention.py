"""Daily audit retention: the purge job (policy retention, never below 180 days)."""
from ..core.clock import utcnow
from ..extensions import db
from ..security.retention import purge_audit
from . import job
from .maintenance import PERIODIC, Periodic


@job("audit_retention")
def audit_retention():
    purge_audit(now=utcnow())
    db.session.commit()


PERIODIC.append(Periodic(id="audit-retention", job="audit_retention", period="day"))
