"""Report jobs: the monthly summaries (and each department's feedback notice), for the month before on the first day of each month
(fanned out, one job per hospital) and for one hospital on demand."""

from ..core.clock import utcnow
from ..extensions import db
from ..rectification import feedback
from ..reports import monthly
from . import QUEUE_REPORTS, fan_out_per_hospital, job, submit
from .maintenance import PERIODIC, Periodic


@job("monthly_summary", queue=QUEUE_REPORTS)
def monthly_summary(hospital_id: int, month: str):
    """Generate and store one hospital's summary; a re-run replaces the snapshot."""
    monthly.parse_month(month)
    now = utcnow()
    monthly.store(hospital_id, month, now=now)
    feedback.publish_month(hospital_id, month, now=now)  # each department's notice
    db.session.commit()


@job("monthly_summaries", queue=QUEUE_REPORTS)
def monthly_summaries(month: str):
    """Every hospital's summary for `month`, one job each (a slow hospital delays no other)."""
    monthly.parse_month(month)
    fan_out_per_hospital("monthly_summary", month, suffix=":auto")


def request_summary(hospital_id: int, month: str, now):
    """On demand (QA's "generate now"): submit in the caller's transaction; dispatch after commit."""
    return submit("monthly_summary", hospital_id, month,
                  dedupe_key=f"monthly_summary:{hospital_id}:{month}:{now.isoformat()}")


def _month_before(now):
    return (monthly.previous_month(now),)


PERIODIC.append(Periodic(id="monthly_summaries", job="monthly_summaries", period="month",
                         args_for=_month_before))
