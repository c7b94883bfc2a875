"""Red-flag alerts on the ward: the open ones a user should see, and acknowledging one.

Who is alerted: every nurse of the ward (the queue page shows the ward's open alerts above the
list) and the head nurse's ward board; each alert names the discharge's attending doctor. A
nurse acknowledges it once she has told a doctor, saying whom; until then it stays up."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core import audit
from ..core.access import red_flag_filter
from ..extensions import db
from ..models import Discharge, FollowupTask, Role
from ..models.alert import RedFlagAlert
from . import Conflict, Invalid, NotAllowed, NotFound


def open_alerts(user, limit: int = 50) -> list[RedFlagAlert]:
    q = (select(RedFlagAlert).where(red_flag_filter(user), RedFlagAlert.acknowledged_at.is_(None))
         .order_by(RedFlagAlert.raised_at).limit(limit)
         .options(selectinload(RedFlagAlert.task).selectinload(FollowupTask.discharge)
                  .selectinload(Discharge.patient)))
    return list(db.session.scalars(q))


def acknowledge(user, alert_id: int, note: str, now: datetime) -> RedFlagAlert:
    alert = db.session.scalar(select(RedFlagAlert).where(RedFlagAlert.id == alert_id, red_flag_filter(user)))
    if alert is None:
        raise NotFound("alert not found")
    if user.role_enum != Role.NURSE:
        raise NotAllowed("only the ward's nurses acknowledge a red flag")
    if alert.acknowledged_at is not None:
        raise Conflict("already acknowledged")
    note = (note or "").strip()
    if not note or len(note) > 500:
        raise Invalid("Say which doctor was told (at most 500 characters).", field="ack_note")
    alert.acknowledged_by_id, alert.acknowledged_at, alert.ack_note = user.id, now, note
    db.session.flush()
    audit.record("red_flag.acknowledge", user=user, object_type="red_flag_alert", object_id=alert.id, now=now)
    return alert
