"""The ward's list of stays kept with missing data (no valid phone, no 离院方式, a malformed ID
number), to complete."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..calls import CallError
from ..calls.missing_data import complete_stay, may_complete, needs_data_page
from ..core.clock import utcnow
from ..extensions import db
from ..imports.errors import describe
from ..models import Role
from . import nav

bp = Blueprint("needs_data", __name__, url_prefix="/calls/needs-data")
nav("needs_data.index", "Missing data", [Role.NURSE], order=25)


@bp.before_request
@login_required
def _ward_nurses_only():
    if not may_complete(current_user):
        abort(404)


@bp.route("/")
def index():
    page = needs_data_page(current_user, request.args.get("page", 1, type=int))
    db.session.commit()  # the view's audit record
    return render_template("calls/needs_data.html", **page)


@bp.route("/<int:discharge_id>", methods=["POST"])
def complete(discharge_id):
    try:
        complete_stay(current_user, discharge_id, request.form.get("phone", ""),
                      request.form.get("disposition", ""), utcnow(), request.form.get("id_number", ""))
    except CallError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(describe(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Saved: the stay's calls are in the queue once nothing is missing."), "success")
    return redirect(url_for(".index", page=request.args.get("page", 1, type=int)))
