"""The commission's monthly evaluation table for county and city auditors: figures of the
hospitals (and counties, for the city) in their region, sortable, ranked, exportable."""
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from ..core import audit
from ..core.access import summary_hospital_ids
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from .. import jobs
from ..reports import background, commission, exports, monthly
from ..reports.spreadsheet import XLSX_MIMETYPE
from ..schemas.ledger import ReportFilter, load_or_400
from . import nav

bp = Blueprint("commission", __name__, url_prefix="/commission")
nav("commission.index", "Monthly evaluation", [Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=43)


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
