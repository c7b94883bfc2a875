"""QC sample jobs: on the first day of each month, every hospital's sample of the month before
(one job per hospital). Entry points only: the rule is in followup/quality/sample.py."""

from ..core.clock import utcnow
from ..extensions import db
from ..quality.sample import draw
from ..reports import monthly
from . import fan_out_per_hospital, job
from .maintenance import PERIODIC, Periodic


@job("qc_draw")
def qc_draw(hospital_id: int, month: str):
    """Idempotent: a month's sample is drawn once (the second run returns it)."""
    draw(hospital_id, month, now=utcnow())
    db.session.commit()


@job("qc_draws")
def qc_draws(month: str):
    monthly.parse_month(month)
    fan_out_per_hospital("qc_draw", month)


PERIODIC.append(Periodic(id="qc_draws", job="qc_draws", period="month",
                         args_for=lambda now: (monthly.previous_month(now),)))
