"""Jobs for work asked for on a page: a sample draw, an export of a large month. Each takes the
progress row's id and calls the domain function the page would have called."""
from ..core.clock import utcnow
from ..reports import background as report_work
from ..sampling import background as draw_work
from . import QUEUE_REPORTS, job


@job(draw_work.KIND, queue=QUEUE_REPORTS)
def sample_draw(work_id: int) -> None:
    draw_work.run_draw(work_id, now=utcnow())


@job(report_work.SUMMARY, queue=QUEUE_REPORTS)
def summary_export(work_id: int) -> None:
    report_work.run_export(work_id, now=utcnow())


@job(report_work.COMMISSION, queue=QUEUE_REPORTS)
def commission_export(work_id: int) -> None:
    report_work.run_export(work_id, now=utcnow())
