"""The commission's monthly evaluation table for county and city auditors: figures of the
hospitals (and counties, for the city) in their region, sortable, ranked, exportable."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core import audit
from ..core.access import summary_hospital_ids
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from .. import jobs
from ..reports import background, commission, exports, monthly, scoring
from ..reports.spreadsheet import XLSX_MIMETYPE
from ..schemas.ledger import ReportFilter, load_or_400
from ..schemas.notifications import MonthFilter, WeightsIn
from . import nav

bp = Blueprint("commission", __name__, url_prefix="/commission")
nav("commission.index", "Monthly evaluation", [Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=43)
nav("commission.score", "Composite score and notice", [Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=44)


def _args():
    if current_user.role_enum not in (Role.COUNTY_AUDITOR, Role.CITY_AUDITOR):
        abort(404)
    args = load_or_400(ReportFilter(), request.args)
    month = args["month"] or monthly.previous_month(utcnow())
    level = args["level"] if current_user.role_enum == Role.CITY_AUDITOR else "hospital"
    return month, level, args["sort"]


def _table():
    month, level, sort = _args()
    rows = commission.table(summary_hospital_ids(current_user), month, now=utcnow(), level=level, sort=sort)
    return month, level, sort, rows


@bp.route("/")
@login_required
def index():
    month, level, sort, rows = _table()
    return render_template("commission/index.html", rows=rows, month=month, level=level, sort=sort,
                           prev_month=monthly.shift(month, -1), next_month=monthly.shift(month, 1),
                           metrics=commission.METRICS, **exports.template_helpers())


@bp.route("/export.xlsx")
@login_required
def export():
    month, level, sort = _args()
    if background.discharges_in(summary_hospital_ids(current_user), month) > current_app.config[
            "EXPORT_INLINE_MAX_DISCHARGES"]:
        w = background.request_commission_export(current_user, month, level, sort, locale=str(get_locale()))
        db.session.commit()
        jobs.dispatch([w.outbox_id])
        return redirect(url_for("work.show", work_id=w.id))
    audit.record("commission.export", object_type="region", object_id=current_user.region_id,
                 detail={"month": month, "level": level})
    db.session.commit()
    name, body = background.commission_file(_table()[3], month, level)
    return exports.download(body, XLSX_MIMETYPE, name)


def _figures():
    """The month's composite evaluation for the signed-in auditor; commits (a first view after
    the 3rd locks the month)."""
    if current_user.role_enum not in (Role.COUNTY_AUDITOR, Role.CITY_AUDITOR):
        abort(404)
    month = load_or_400(MonthFilter(), request.args)["month"] or monthly.previous_month(utcnow())
    fig = commission.auditor_view(current_user, month, now=utcnow())
    db.session.commit()
    return fig


@bp.route("/score")
@login_required
def score():
    fig = _figures()
    return render_template("commission/score.html", fig=fig, prev_month=monthly.shift(fig["month"], -1),
                           next_month=monthly.shift(fig["month"], 1), chart=exports.notice_chart(fig["rows"]),
                           **exports.template_helpers())


@bp.route("/notice.<any(pdf, xlsx):fmt>")
@login_required
def notice(fmt):
    fig = _figures()
    audit.record("commission.notice", object_type="region", object_id=current_user.region_id,
                 detail={"month": fig["month"], "format": fmt})
    db.session.commit()
    body = (exports.notice_pdf if fmt == "pdf" else exports.notice_xlsx)(fig, fig["region_name"])
    mimetype = "application/pdf" if fmt == "pdf" else XLSX_MIMETYPE
    return exports.download(body, mimetype, f"{_('Notice')}-{fig['region_name']}-{fig['month']}.{fmt}")


@bp.route("/weights", methods=["GET", "POST"])
@login_required
def weights():
    if current_user.role_enum != Role.CITY_AUDITOR:
        abort(404)
    if request.method == "POST":
        try:
            scoring.save_settings(current_user.region_id, load_or_400(WeightsIn(), request.form),
                                  user=current_user, now=utcnow())
        except ValueError:
            abort(400, description="weights must not all be 0")
        db.session.commit()
        flash(_("Weights saved. Months not yet locked are scored with them."), "success")
        return redirect(url_for("commission.score"))
    return render_template("commission/weights.html", settings=scoring.settings(current_user.region_id),
                           metrics=scoring.METRICS, **exports.template_helpers())
