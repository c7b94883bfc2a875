"""Follow-up plans (随访方案) for the hospital admin: define a plan (department and/or diagnosis,
T+N days, deadline, form fields, script), switch it off or on, and see its rates."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..core.access import blueprint_only_for, get_scoped_or_404
from ..core.clock import local, utcnow
from ..extensions import db
from ..models import Role
from ..models.plan import FollowupPlan
from ..plans import define, library
from ..reports import exports, monthly
from ..schemas.followup_forms import flat_errors
from ..schemas.ledger import ReportFilter, load_or_400
from . import nav

bp = Blueprint("plans", __name__, url_prefix="/plans")
blueprint_only_for(bp, Role.HOSPITAL_ADMIN)
nav("plans.index", "Follow-up plans", [Role.HOSPITAL_ADMIN], order=61)


def _render(values, errors, status=200):
    now = utcnow()
    month = load_or_400(ReportFilter(), request.args)["month"] or monthly.month_str(local(now).year, local(now).month)
    page = define.admin_page(current_user, month, now)
    return render_template("plans/index.html", values=values, errors=errors, field_labels=library.FIELDS,
                           **page, **exports.template_helpers()), status


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        return _render(request.form, {})
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "fields") and v != ""}
    try:
        _plan, made = define.create_plan(current_user, {**data, "fields": request.form.getlist("fields")}, utcnow())
    except ValidationError as err:
        db.session.rollback()
        return _render(request.form, flat_errors(err.messages), 422)
    db.session.commit()
    flash(_("Plan saved; %(n)s calls added for recent discharges.", n=made), "success")
    return redirect(url_for("plans.index"))


@bp.route("/<int:plan_id>/<any(on, off):state>", methods=["POST"])
def switch(plan_id, state):
    plan = get_scoped_or_404(current_user, FollowupPlan, plan_id, define.plan_filter)
    define.set_active(current_user, plan, state == "on", utcnow())
    db.session.commit()
    return redirect(url_for("plans.index"))
