"""A draw asked for on the page runs as a job (a city draw reads millions of discharges). The
request fixes the round (draw_no) at once, so a retried or doubled job finds the sample of that
round instead of drawing again: a draw is keyed by region, period and round."""
from datetime import date

from flask_babel import gettext as _

from ..core import work as progress_rows
from ..extensions import db
from ..models import Region, User
from ..models.work import WorkRequest, WorkStatus
from .algorithm import N_
from .draw import DrawError, DrawRequest, check_request, draw_sample, existing_draw

KIND = "sample_draw"


def request_draw(req: DrawRequest, *, user) -> WorkRequest:
    """Check the draw now (errors go back to the form), then record it for a job. Flushes.
    A second request for the same round (two clicks, two auditors at once) is refused."""
    checked = check_request(req)
    params = {"region_id": req.region.id, "period_start": req.period_start.isoformat(),
              "period_end": req.period_end.isoformat(), "rate": req.rate,
              "public_seed": req.public_seed, "reason": req.reason, "draw_no": checked.draw_no}
    key = f"draw:{req.region.id}:{req.period_start}:{req.period_end}:{checked.draw_no}"
    try:
        return progress_rows.create(KIND, params, user=user, dedupe_key=key)
    except progress_rows.WorkTaken:
        raise DrawError(N_("a draw for this region and period is already under way; wait for it, "
                           "then give a reason for another"), "reason") from None


def run_draw(work_id: int, *, now) -> None:
    """The job: draw the request's round once. Commits (progress between steps, then the sample
    and the finished row together). A retry, or a second run at the same moment, finds the
    round's sample and draws nothing."""
    work = db.session.get(WorkRequest, work_id)
    if work is None or work.finished:
        return
    p = work.params
    start, end = date.fromisoformat(p["period_start"]), date.fromisoformat(p["period_end"])
    refusal = None
    if existing_draw(p["region_id"], start, end, p["draw_no"]) is None:
        req = DrawRequest(db.session.get(Region, p["region_id"]), start, end, p["rate"],
                          p["public_seed"], p["reason"])
        try:
            draw_sample(req, user=db.session.get(User, work.created_by_id), now=now, draw_no=p["draw_no"],
                        progress=lambda step: progress_rows.checkpoint(work, step))
        except DrawError as exc:
            db.session.rollback()
            refusal = _(exc.template, **exc.params)
    work = db.session.get(WorkRequest, work_id)
    sample = existing_draw(p["region_id"], start, end, p["draw_no"])
    if sample is None or sample.drawn_by_id != work.created_by_id:
        # The round was taken by a draw outside this request: refused, said on the page.
        progress_rows.fail(work, refusal or _("another draw for this region and period was made at "
                                              "the same moment; reload the page and give a reason"))
    else:
        progress_rows.finish(work, sample_id=sample.id)
    db.session.commit()


def is_sample_result(work: WorkRequest) -> bool:
    return work.kind == KIND and work.status == WorkStatus.DONE and work.result_sample_id is not None


def drawn_message(work: WorkRequest) -> str:
    """What the auditor is told on arriving at the sample drawn for her."""
    from ..models.sample import AuditSample
    sample = db.session.get(AuditSample, work.result_sample_id)
    return _("Sample drawn: %(n)s of %(N)s discharges.", n=sample.sample_size, N=sample.population_size)
