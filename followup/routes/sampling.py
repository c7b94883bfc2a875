"""Audit-sample pages for county and city auditors: draw, sample list with call status, the call
screen of a sampled patient, verification, and the per-hospital report (with Excel export).
Hospital roles get 404 on every one of these URLs."""
from fractions import Fraction

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import jobs
from ..core import audit
from ..core.access import (AUDITOR_ROLES, get_scoped_or_404, may_draw_sample, sample_filter,
                      sampled_record_filter)
from ..calls.vocabulary import OUTCOME_LABELS
from ..core.clock import utcnow
from ..extensions import db
from ..models import Discharge, Role
from ..models.sample import (Answer, AuditSample, Classification, SampleCallAttempt, SampleCheck,
                             SampledRecord)
from ..reports.spreadsheet import spreadsheet_response
from ..sampling import algorithm as alg
from ..sampling.algorithm import SamplingError
from ..sampling.calls import CallError, give_up, record_attempt
from ..sampling.background import request_draw
from ..sampling.draw import DrawError, DrawRequest
from ..sampling.population import PeriodError, month_period
from ..sampling.report import EXPORT_COLUMNS, hospital_rows
from ..sampling.verify import check_sample, population_drift
from ..schemas.sampling import AUDIT_OUTCOMES, AttemptForm, DrawForm, form_data
from . import nav

bp = Blueprint("sampling", __name__, url_prefix="/sampling")
nav("sampling.index", "Audit samples", [Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=60)

CLASSIFICATION_LABELS = {
    Classification.CONSISTENT: _l("Consistent"), Classification.SUSPECTED_FALSE: _l("Suspected false record"),
    Classification.LOST_BUT_REACHABLE: _l("Lost but reachable"), Classification.NOT_VERIFIABLE: _l("Not verifiable")}
ANSWER_LABELS = {Answer.YES: _l("Yes"), Answer.NO: _l("No"), Answer.UNSURE: _l("Not sure")}
DRIFT_ON_VIEW_LIMIT = 1_000_000
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
            "questions": QUESTIONS, "outcome_labels": OUTCOME_LABELS}


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


@bp.route("/")
def index():
    return _render_index({}, {}), 200


def _render_index(form: dict, errors: dict):
    samples = db.session.scalars(select(AuditSample).where(sample_filter(current_user)).order_by(
        AuditSample.period_start.desc(), AuditSample.region_id, AuditSample.draw_no.desc())).all()
    recorded = dict(db.session.execute(
        select(SampledRecord.sample_id, func.count()).where(SampledRecord.reached.is_not(None),
                                                            SampledRecord.sample_id.in_([s.id for s in samples]))
        .group_by(SampledRecord.sample_id)).all())
    region = current_user.region
    floor = alg.format_percent(alg.RATE_FLOORS[region.level]) if region else ""
    return render_template("sampling/index.html", samples=samples, recorded=recorded, form=form,
                           errors=errors, region=region, floor=floor)


@bp.route("/draw", methods=["POST"])
def draw():  # checked here, drawn by a job (a city draw reads millions of rows)
    raw = form_data(request.form)
    region = current_user.region
    if region is None or not may_draw_sample(current_user, region):
        abort(404)
    try:
        data = DrawForm().load(raw)
        start, end = month_period(data["period"])
        rate = data["rate"].strip()
        rate = rate if rate.endswith(("%", "％")) else rate + "%"  # the form asks for a percentage
        work = request_draw(DrawRequest(region, start, end, rate, data["public_seed"], data["reason"]),
                            user=current_user)
    except ValidationError as exc:
        return _render_index(raw, {k: " ".join(v) for k, v in exc.messages.items()}), 422
    except (PeriodError, DrawError) as exc:
        db.session.rollback()
        return _render_index(raw, _refusal(exc)), 422
    db.session.commit()
    jobs.dispatch([work.outbox_id])
    return redirect(url_for("work.show", work_id=work.id))


@bp.route("/<int:sample_id>")
def show(sample_id):
    sample = _get_sample_or_404(sample_id)
    records = db.session.scalars(select(SampledRecord).where(
        SampledRecord.sample_id == sample.id, sampled_record_filter(current_user))
        .options(selectinload(SampledRecord.hospital),
                 selectinload(SampledRecord.discharge).selectinload(Discharge.patient),
                 selectinload(SampledRecord.discharge).selectinload(Discharge.ward))
        .order_by(SampledRecord.hospital_id, SampledRecord.position)).all()
    attempts = dict(db.session.execute(
        select(SampleCallAttempt.record_id, func.count()).where(
            SampleCallAttempt.record_id.in_([r.id for r in records])).group_by(SampleCallAttempt.record_id)).all())
    if records:  # the list names patients: log who saw which sample's list
        audit.record("sample.records_view", object_type="audit_sample", object_id=sample.id,
                     detail={"records": len(records)})
    checks = db.session.scalars(select(SampleCheck).where(SampleCheck.sample_id == sample.id)
                                .order_by(SampleCheck.checked_at.desc())).all()
    others = db.session.scalars(select(AuditSample).where(
        AuditSample.region_id == sample.region_id, AuditSample.period_start == sample.period_start,
        AuditSample.period_end == sample.period_end, AuditSample.id != sample.id)
        .order_by(AuditSample.draw_no)).all()
    # Re-reading a huge population on every view would take seconds: above the limit the
    # auditor asks for it (?drift=1).
    drift = population_drift(sample) if (sample.population_size <= DRIFT_ON_VIEW_LIMIT
                                         or request.args.get("drift")) else None
    db.session.commit()
    return render_template("sampling/show.html", sample=sample, records=records, attempts=attempts,
                           checks=checks, others=others, drift=drift,
                           late=sum(d["late"] for d in (drift or {}).values()),
                           gone=sum(d["gone"] for d in (drift or {}).values()))


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
    d = record.discharge
    next_id = db.session.scalar(select(SampledRecord.id).where(
        SampledRecord.sample_id == record.sample_id, SampledRecord.reached.is_(None),
        SampledRecord.id != record.id, sampled_record_filter(current_user))
        .order_by(SampledRecord.hospital_id, SampledRecord.position).limit(1))
    return render_template("sampling/call.html", record=record, d=d, form=form, errors=errors,
                           outcomes=AUDIT_OUTCOMES, next_id=next_id)


@bp.route("/<int:sample_id>/records/<int:record_id>/attempt", methods=["POST"])
def attempt(sample_id, record_id):
    record = _get_record_or_404(sample_id, record_id)
    raw = form_data(request.form)
    try:
        record_attempt(record, AttemptForm().load(raw), user=current_user, now=utcnow())
    except ValidationError as exc:
        return _render_call(record, raw, {k: " ".join(v) for k, v in exc.messages.items()}), 422
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
    rows = hospital_rows(sample.id)
    fmt = request.args.get("format")
    if fmt in ("xlsx", "csv"):
        audit.record("sample.report_export", object_type="audit_sample", object_id=sample.id,
                     detail={"format": fmt, "hospitals": len(rows)})
        db.session.commit()
        return spreadsheet_response(
            fmt, f"{_('Audit sample report')}-{sample.region.code}-{sample.period_start:%Y-%m}-{sample.draw_no}",
            [_(h) for h, _get in EXPORT_COLUMNS], [[get(r) for _h, get in EXPORT_COLUMNS] for r in rows],
            _("Audit sample report"))
    if fmt is not None:
        abort(400)
    return render_template("sampling/report.html", sample=sample, rows=rows)
