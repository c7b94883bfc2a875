"""QC sample jobs: on the first day of each month, every hospital's sample of the month before
(one job per hospital). Entry points only: the rule is in followup/quality/sample.py."""
from sqlalchemy import select

from ..core.clock import utcnow
from ..extensions import db
from ..models import Hospital
from ..quality.sample import draw
from ..reports import monthly
from . import dispatch, job, submit
from .maintenance import PERIODIC, Periodic


@job("qc_draw")
def qc_draw(hospital_id: int, month: str):
    """Idempotent: a month's sample is drawn once (the second run returns it)."""
    draw(hospital_id, month, now=utcnow())
    db.session.commit()


@job("qc_draws")
def qc_draws(month: str):
    monthly.parse_month(month)
    rows = [submit("qc_draw", hid, month, dedupe_key=f"qc_draw:{hid}:{month}")
            for hid in db.session.scalars(select(Hospital.id).order_by(Hospital.id))]
    db.session.commit()
    dispatch([r.id for r in rows])


PERIODIC.append(Periodic(id="qc_draws", job="qc_draws", period="month",
                         args_for=lambda now: (monthly.previous_month(now),)))
