"""QA's monthly summary (page, Excel, PDF, stored snapshots) and the opinions QA classifies and
puts on the ledger. Auditors open the same summary without patients' words."""
import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import jobs
from ..rectification import ledger
from ..core import audit
from ..core.access import (get_scoped_or_404, get_summary_hospital_or_404, may_read_opinions,
                      opinion_filter, summary_hospital_ids)
from ..core.clock import month_bounds, utcnow
from ..extensions import db
from ..jobs.reports import request_summary
from ..models import Hospital, Role, Ward
from ..models.opinion import Opinion, RectificationItem
from ..models.report import MonthlySummary
from ..reports import background, charts, exports, monthly
from ..reports.spreadsheet import XLSX_MIMETYPE
from ..schemas.ledger import CreateItemIn, ReclassifyIn, ReportFilter, load_or_400
from . import nav

bp = Blueprint("qa", __name__, url_prefix="/qa")
nav("qa.summary", "Monthly summary", [Role.QA, Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=40)
nav("qa.opinions", "Opinions", [Role.QA], order=41)

OPINIONS_PAGE = 50


def _hospital_and_month():
    args = load_or_400(ReportFilter(), request.args)
    hospital_id = args["hospital"] or current_user.hospital_id
    if hospital_id is None:  # an auditor: the first hospital of the region
        hospital_id = db.session.scalar(select(Hospital.id).where(
            Hospital.id.in_(summary_hospital_ids(current_user))).order_by(Hospital.name).limit(1))
    if hospital_id is None:
        abort(404)
    hospital = get_summary_hospital_or_404(current_user, hospital_id)
    # QA works on the month in progress; finished months are one click back.
    return hospital, args["month"] or monthly.default_month(hospital.id, utcnow())


def _summary():
    hospital, month = _hospital_and_month()
    words = may_read_opinions(current_user)
    data = monthly.build(hospital.id, month, now=utcnow(), words=words)
    if words:  # patients' words were shown
        audit.record("summary.view", object_type="hospital", object_id=hospital.id, detail={"month": month})
        db.session.commit()
    return hospital, month, data


@bp.route("/summary")
@login_required
def summary():
    hospital, month, data = _summary()
    hospitals = db.session.scalars(select(Hospital).where(
        Hospital.id.in_(summary_hospital_ids(current_user))).order_by(Hospital.name)).all()
    snapshots = db.session.scalars(select(MonthlySummary).where(MonthlySummary.hospital_id == hospital.id)
                                   .order_by(MonthlySummary.month.desc()).limit(12)).all()
    return render_template("qa/summary.html", s=data, hospital=hospital, month=month, hospitals=hospitals,
                           snapshots=snapshots,
                           chart_json=json.dumps(charts.page_data(data), ensure_ascii=False),
                           prev_month=monthly.shift(month, -1), next_month=monthly.shift(month, 1),
                           to_date=month == monthly.current_month(utcnow()),
                           **exports.template_helpers())


@bp.route("/summary.<fmt>")
@login_required
def summary_export(fmt):
    if fmt not in ("xlsx", "pdf"):
        abort(404)
    hospital, month = _hospital_and_month()
    if background.discharges_in([hospital.id], month) > current_app.config["EXPORT_INLINE_MAX_DISCHARGES"]:
        w = background.request_summary_export(current_user, hospital.id, month, fmt, locale=str(get_locale()),
                                              words=may_read_opinions(current_user))
        db.session.commit()
        jobs.dispatch([w.outbox_id])
        return redirect(url_for("work.show", work_id=w.id))
    hospital, month, data = _summary()
    audit.record("summary.export", object_type="hospital", object_id=hospital.id,
                 detail={"month": month, "format": fmt})
    db.session.commit()
    return exports.download(*_file(background.summary_file(data, hospital.name, month, fmt), fmt))


def _file(name_body, fmt):
    name, body = name_body
    return body, background.MIMETYPES[fmt], name


@bp.route("/summary/snapshots/<int:snapshot_id>.xlsx")
@login_required
def snapshot_export(snapshot_id):
    snap = db.session.get(MonthlySummary, snapshot_id)
    if snap is None or not may_read_opinions(current_user):
        abort(404)
    hospital = get_summary_hospital_or_404(current_user, snap.hospital_id)
    audit.record("summary.export", object_type="monthly_summary", object_id=snap.id, detail={"format": "xlsx"})
    db.session.commit()
    return exports.download(exports.summary_xlsx(snap.data), XLSX_MIMETYPE, f"{hospital.name}-{snap.month}.xlsx")


@bp.route("/summary/generate", methods=["POST"])
@login_required
def generate():
    if current_user.role_enum != Role.QA:
        abort(404)
    month = load_or_400(ReportFilter(), request.form)["month"] or monthly.previous_month(utcnow())
    row = request_summary(current_user.hospital_id, month, utcnow())
    db.session.commit()
    jobs.dispatch([row.id])
    flash(_("The summary for %(month)s is being generated; it appears under Stored summaries.", month=month))
    return redirect(url_for("qa.summary", month=month))


@bp.route("/opinions")
@login_required
def opinions():
    if not may_read_opinions(current_user):
        abort(404)
    args = load_or_400(ReportFilter(), request.args)
    month = args["month"] or monthly.current_month(utcnow())
    start, end = month_bounds(*monthly.parse_month(month))
    q = select(Opinion).where(opinion_filter(current_user), Opinion.recorded_at >= start, Opinion.recorded_at < end)
    if args["sentiment"]:
        q = q.where(Opinion.sentiment == args["sentiment"])
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.session.scalars(q.order_by(Opinion.recorded_at.desc(), Opinion.id.desc())
                              .limit(OPINIONS_PAGE).offset((args["page"] - 1) * OPINIONS_PAGE)).all()
    items = dict(db.session.execute(select(RectificationItem.opinion_id, RectificationItem.id)
                                    .where(RectificationItem.opinion_id.in_([o.id for o in rows]))).all())
    audit.record("opinion.list", object_type="hospital", object_id=current_user.hospital_id, detail={"month": month})
    db.session.commit()
    return render_template("qa/opinions.html", rows=rows, items=items, month=month, total=total,
                           page=args["page"], pages=max(1, -(-total // OPINIONS_PAGE)),
                           wards=_hospital_wards(), **exports.template_helpers())


def _hospital_wards():
    return db.session.scalars(select(Ward).where(Ward.hospital_id == current_user.hospital_id)
                              .order_by(Ward.kind, Ward.name)).all()


def _ward_or_none(ward_id):
    return db.session.get(Ward, ward_id) if ward_id else None


@bp.route("/opinions/<int:opinion_id>/classify", methods=["POST"])
@login_required
def reclassify(opinion_id):
    o = get_scoped_or_404(current_user, Opinion, opinion_id, opinion_filter)
    form = load_or_400(ReclassifyIn(), request.form)
    try:
        ledger.reclassify(o, user=current_user, now=utcnow(), category=form["category"],
                          sentiment=form["sentiment"], ward=_ward_or_none(form["ward_id"]))
    except ledger.LedgerError as err:
        abort(400, description=str(err))
    db.session.commit()
    flash(_("Reclassified. The patient's words are unchanged."))
    return redirect(request.referrer or url_for("qa.opinions"))


@bp.route("/opinions/<int:opinion_id>/ledger", methods=["POST"])
@login_required
def put_on_ledger(opinion_id):
    """QA puts any opinion on the ledger (complaints arrive there by themselves)."""
    o = get_scoped_or_404(current_user, Opinion, opinion_id, opinion_filter)
    form = load_or_400(CreateItemIn(), request.form)
    ward = _ward_or_none(form["ward_id"])
    if ward is not None and ward.hospital_id != o.hospital_id:
        abort(400, description="ward_id: not a department of this hospital")
    if ward is not None and o.ward_id is None:
        ledger.reclassify(o, user=current_user, now=utcnow(), ward=ward)
    item = ledger.open_item_from_opinion(o, user=current_user, now=utcnow(), due=form["due_date"], source="qa")
    if ward is not None and item.ward_id != ward.id:
        ledger.reassign(item, user=current_user, now=utcnow(), ward=ward)
    db.session.commit()
    return redirect(url_for("ledger.show", item_id=item.id))
