"""The hospital admin's call scripts (话术): one default per level and, where a department wants
its own, one per department; a preview fills the placeholders with sample details."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from ..calls.scripts import editable, edit_page, render_script, sample_values, save_script, scripts_page
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..schemas.followup_forms import flat_errors, from_form
from . import nav

bp = Blueprint("scripts", __name__, url_prefix="/calls/scripts")
nav("scripts.index", "Call scripts", [Role.HOSPITAL_ADMIN], order=60)


@bp.before_request
@login_required
def _hospital_admin_only():
    if current_user.role != Role.HOSPITAL_ADMIN:
        abort(404)


@bp.route("/")
def index():
    return render_template("calls/scripts.html", **scripts_page(current_user))


@bp.route("/edit", methods=["GET", "POST"])
def edit():
    level, ward_id = request.values.get("level", "ward"), request.values.get("ward_id", type=int)
    if not editable(current_user, level, ward_id):
        abort(404)
    errors = {}
    if request.method == "POST":
        try:
            save_script(current_user, from_form(request.form), utcnow())
        except ValidationError as err:
            db.session.rollback()
            errors = flat_errors(err.messages)
        else:
            db.session.commit()
            flash(_("Script saved."), "success")
            return redirect(url_for("scripts.index"))
    page = edit_page(current_user, level, ward_id, request.form if request.method == "POST" else None)
    return render_template("calls/script_edit.html", errors=errors, **page), 422 if errors else 200


@bp.route("/preview", methods=["POST"])
def preview():
    body = request.form.get("body", "")[:4000]
    return render_template("calls/_script_preview.html", preview=render_script(body, sample_values()))
