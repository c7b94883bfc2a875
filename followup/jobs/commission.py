"""The monthly lock of the commission's figures (每月3日前报上月工作), as a daily job: from the
3rd of each month, each city's figures of the month before are locked once (an entry point
only; the rule is in followup/reports/commission.py)."""
from datetime import datetime

from sqlalchemy import select

from ..core.clock import as_utc
from ..extensions import db
from ..models import Region
from ..reports import commission, monthly
from . import job
from .maintenance import PERIODIC, Periodic


@job("commission_lock")
def commission_lock(now_iso: str):
    """Idempotent: a locked month stays as it was locked."""
    now = as_utc(datetime.fromisoformat(now_iso))
    month = monthly.previous_month(now)
    if now < commission.lock_at(month):
        return
    for city_id in list(db.session.scalars(select(Region.id).where(Region.level == "city"))):
        commission.lock(city_id, month, now=now)
        db.session.commit()


PERIODIC.append(Periodic(id="commission_lock", job="commission_lock", period="day",
                         args_for=lambda now: (now.isoformat(timespec="seconds"),)))
