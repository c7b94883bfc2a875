"""The hospital admin's call settings: calling hours, retry spacing, daily cap per patient."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..calls import Invalid, policy
from ..calls.settings import save_settings
from ..core.clock import utcnow
from ..extensions import db
from ..models import Hospital, Role
from . import call_policy, nav

bp = Blueprint("call_settings", __name__, url_prefix="/settings/calls")
nav("call_settings.edit", "Calling hours", [Role.HOSPITAL_ADMIN], order=66)


@bp.before_request
@login_required
def _hospital_admin_only():
    if current_user.role_enum != Role.HOSPITAL_ADMIN or not current_user.hospital_id:
        abort(404)


@bp.route("/", methods=["GET", "POST"])
def edit():
    hospital = db.session.get(Hospital, current_user.hospital_id)
    error = None
    if request.method == "POST":
        f = request.form
        try:
            save_settings(current_user, hospital, f.get("calling_hours", ""), f.get("retry_minutes", ""),
                          f.get("max_attempts_per_day", ""), utcnow())
            db.session.commit()
            flash(_("Call settings saved."), "success")
            return redirect(url_for("call_settings.edit"))
        except Invalid as err:
            db.session.rollback()
            error = err.field
    return render_template("calls/settings.html", hospital=hospital, pol=call_policy(), error=error,
                           hours=policy.hours_text(call_policy()))
