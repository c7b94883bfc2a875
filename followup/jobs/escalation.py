"""Escalation as a periodic job: an entry point only (the rules are in
followup/rectification/escalation.py). Takes the moment as ISO text; commits per hospital."""
import logging
from datetime import datetime

from sqlalchemy import select

from ..core.clock import as_utc
from ..extensions import db
from ..models import Hospital
from ..rectification.escalation import escalate_hospital
from . import job
from .maintenance import PERIODIC, Periodic

log = logging.getLogger(__name__)


@job("escalate")
def escalate(now_iso: str):
    """Safe to run twice: each (subject, step) is taken once (EscalationStep is unique)."""
    now = as_utc(datetime.fromisoformat(now_iso))
    for hid in list(db.session.scalars(select(Hospital.id).order_by(Hospital.id))):
        result = escalate_hospital(hid, now)
        db.session.commit()
        log.info("escalation hospital %s: %s", hid, result)


# Hourly: thresholds are whole hours; the job carries the moment it was due for.
PERIODIC.append(Periodic(id="escalation", job="escalate", period="hour",
                         args_for=lambda now: (now.isoformat(timespec="seconds"),)))
