"""The commission's monthly evaluation table for county and city auditors: figures of the
hospitals (and counties, for the city) in their region, sortable, ranked, exportable."""
from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core import audit
from ..core.access import summary_hospital_ids
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..reports import commission, exports, monthly
from ..reports.spreadsheet import XLSX_MIMETYPE, to_xlsx
from ..schemas.ledger import ReportFilter, load_or_400
from . import nav

bp = Blueprint("commission", __name__, url_prefix="/commission")
nav("commission.index", "Monthly evaluation", [Role.COUNTY_AUDITOR, Role.CITY_AUDITOR], order=43)


def _table():
    if current_user.role_enum not in (Role.COUNTY_AUDITOR, Role.CITY_AUDITOR):
        abort(404)
    args = load_or_400(ReportFilter(), request.args)
    month = args["month"] or monthly.previous_month(utcnow())
    level = args["level"] if current_user.role_enum == Role.CITY_AUDITOR else "hospital"
    rows = commission.table(summary_hospital_ids(current_user), month, now=utcnow(), level=level,
                            sort=args["sort"])
    return month, level, args["sort"], rows


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
    month, level, _sort, rows = _table()
    audit.record("commission.export", object_type="region", object_id=current_user.region_id,
                 detail={"month": month, "level": level})
    db.session.commit()
    return exports.download(to_xlsx([exports.commission_sheet(rows, level)]), XLSX_MIMETYPE,
                     f"{_('Monthly evaluation')}-{month}.xlsx")
