"""Audit-sample pages for county and city auditors: draw, sample list with call status, the call
screen of a sampled patient, verification, and the per-hospital report (with Excel export).
Hospital roles get 404 on every one of these URLs."""
from fractions import Fraction

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError

from .. import jobs
from ..core import audit
from ..core.access import AUDITOR_ROLES, get_scoped_or_404, may_draw_sample, sample_filter, sampled_record_filter
from ..calls.vocabulary import OUTCOME_LABELS, SCORE_LABELS
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..models.sample import Answer, AuditSample, Classification, SampledRecord
from ..reports.spreadsheet import spreadsheet_response
from ..sampling import algorithm as alg
from ..sampling import pages
from ..sampling.algorithm import SamplingError
from ..sampling.calls import CallError, give_up, record_attempt
from ..sampling.background import request_draw
from ..sampling.draw import DrawError
from ..sampling.population import PeriodError
from ..sampling.report import EXPORT_COLUMNS
from ..sampling.verify import check_sample
from ..schemas.sampling import AUDIT_OUTCOMES, AttemptForm, DrawForm, form_data
from ..rectification.findings import finding_for_record
from . import nav

bp = Blueprint("sampling", __name__, url_prefix="/sampling")
nav("sampling.index", "Audit samples", [Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=60)

CLASSIFICATION_LABELS = {
    Classification.CONSISTENT: _l("Consistent"), Classification.SUSPECTED_FALSE: _l("Suspected false record"),
    Classification.LOST_BUT_REACHABLE: _l("Lost but reachable"), Classification.NOT_VERIFIABLE: _l("Not verifiable")}
ANSWER_LABELS = {Answer.YES: _l("Yes"), Answer.NO: _l("No"), Answer.UNSURE: _l("Not sure")}
QUESTIONS = [("hospital_called", _l("Did the hospital call you after discharge?")),
             ("medication_guidance", _l("Were you told how to take your medicines?")),
             ("rehab_guidance", _l("Were you given rehab guidance?"))]


@bp.before_request
@login_required
def _auditors_only():
    if current_user.role_enum not in AUDITOR_ROLES:
        abort(404)


@bp.context_processor
def _labels():
    return {"classification_labels": CLASSIFICATION_LABELS, "answer_labels": ANSWER_LABELS,
            "questions": QUESTIONS, "outcome_labels": OUTCOME_LABELS, "score_labels": SCORE_LABELS}


@bp.app_template_filter("rate_percent")
def _rate_percent(rate: str) -> str:
    return alg.format_percent(Fraction(rate))


def _get_sample_or_404(sample_id: int) -> AuditSample:
    return get_scoped_or_404(current_user, AuditSample, sample_id, sample_filter)


def _get_record_or_404(sample_id: int, record_id: int) -> SampledRecord:
    return get_scoped_or_404(current_user, SampledRecord, record_id,
                             lambda u: sampled_record_filter(u) & (SampledRecord.sample_id == sample_id))


def _refusal(exc: SamplingError) -> dict:
    """{form field: translated message} for a refused draw or call."""
    return {exc.field or "form": _(exc.template, **exc.params)}


def _invalid(exc: ValidationError) -> dict:
    return {k: " ".join(v) for k, v in exc.messages.items()}


@bp.route("/")
def index():
    return _render_index({}, {}), 200


def _render_index(form: dict, errors: dict):
    return render_template("sampling/index.html", form=form, errors=errors, **pages.sample_list(current_user))


@bp.route("/draw", methods=["POST"])
def draw():  # checked here, drawn by a job (a city draw reads millions of rows)
    raw = form_data(request.form)
    region = current_user.region
    if region is None or not may_draw_sample(current_user, region):
        abort(404)
    try:
        work = request_draw(pages.draw_request(region, DrawForm().load(raw)), user=current_user)
    except ValidationError as exc:
        return _render_index(raw, _invalid(exc)), 422
    except (PeriodError, DrawError) as exc:
        db.session.rollback()
        return _render_index(raw, _refusal(exc)), 422
    db.session.commit()
    jobs.dispatch([work.outbox_id])
    return redirect(url_for("work.show", work_id=work.id))


@bp.route("/<int:sample_id>")
def show(sample_id):
    page = pages.sample_detail(_get_sample_or_404(sample_id), current_user,
                               drift_requested=bool(request.args.get("drift")))
    db.session.commit()  # the records view was logged
    return render_template("sampling/show.html", **page)


@bp.route("/<int:sample_id>/verify", methods=["POST"])
def verify(sample_id):
    sample = _get_sample_or_404(sample_id)
    check = check_sample(sample, user=current_user, now=utcnow())
    db.session.commit()
    if check.ok:
        flash(_("Verified: recomputing the draw gives the identical sample."))
    else:
        flash(_("Verification FAILED: %(n)s difference(s).", n=len(check.problems)), "error")
    return redirect(url_for("sampling.show", sample_id=sample.id))


@bp.route("/<int:sample_id>/records/<int:record_id>")
def call(sample_id, record_id):
    record = _get_record_or_404(sample_id, record_id)
    audit.record("sample.record_view", object_type="sampled_record", object_id=record.id,
                 detail={"discharge_id": record.discharge_id})
    db.session.commit()
    return _render_call(record, {}, {}), 200


def _render_call(record, form, errors):
    return render_template("sampling/call.html", record=record, d=record.discharge, form=form, errors=errors,
                           outcomes=AUDIT_OUTCOMES, next_id=pages.next_record_id(record, current_user),
                           finding=finding_for_record(record.id))


@bp.route("/<int:sample_id>/records/<int:record_id>/attempt", methods=["POST"])
def attempt(sample_id, record_id):
    record = _get_record_or_404(sample_id, record_id)
    raw = form_data(request.form)
    try:
        record_attempt(record, AttemptForm().load(raw), user=current_user, now=utcnow())
    except ValidationError as exc:
        return _render_call(record, raw, _invalid(exc)), 422
    except CallError as exc:
        db.session.rollback()
        return _render_call(record, raw, _refusal(exc)), 422
    db.session.commit()
    flash(_("Saved."))
    return redirect(url_for("sampling.call", sample_id=sample_id, record_id=record.id))


@bp.route("/<int:sample_id>/records/<int:record_id>/unreachable", methods=["POST"])
def unreachable(sample_id, record_id):
    record = _get_record_or_404(sample_id, record_id)
    try:
        give_up(record, user=current_user, now=utcnow())
    except CallError as exc:
        db.session.rollback()
        return _render_call(record, {}, _refusal(exc)), 422
    db.session.commit()
    flash(_("Recorded as unreachable."))
    return redirect(url_for("sampling.call", sample_id=sample_id, record_id=record.id))


@bp.route("/<int:sample_id>/report")
def report(sample_id):
    sample = _get_sample_or_404(sample_id)
    fmt = request.args.get("format")
    if fmt in ("xlsx", "csv"):
        rows = pages.report_export_rows(sample, fmt)
        db.session.commit()
        title = _("Audit sample report")
        return spreadsheet_response(fmt, f"{title}-{sample.region.code}-{sample.period_start:%Y-%m}-{sample.draw_no}",
                                    [_(h) for h, _get in EXPORT_COLUMNS], rows, title)
    if fmt is not None:
        abort(400)
    page = pages.report_page(sample, current_user)
    db.session.commit()  # the view of the contradicted records was logged
    return render_template("sampling/report.html", **page)
