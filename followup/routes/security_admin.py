"""The security administrator's pages: the security policy, and resetting a user's second
factor (lost phone). No patient data, no audit log, no account creation."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..core.clock import utcnow
from ..core.access import blueprint_only_for
from ..extensions import db
from ..models import Role, User
from ..security.mfa import reset_mfa, second_factor_page
from ..security.policy import PolicySchema, current_policy, save_policy
from . import nav

bp = Blueprint("security_admin", __name__, url_prefix="/security")
nav("security_admin.policy", "Security policy", [Role.SECURITY_ADMIN], order=85)
nav("security_admin.second_factors", "Second factors", [Role.SECURITY_ADMIN], order=86)

INT_FIELDS = [name for name, f in PolicySchema().fields.items() if name != "mfa_roles"]


blueprint_only_for(bp, Role.SECURITY_ADMIN)


@bp.route("/policy", methods=["GET", "POST"])
def policy():
    errors = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in INT_FIELDS}
        form["mfa_roles"] = request.form.getlist("mfa_roles")
        try:
            save_policy(form, by=current_user, now=utcnow())
        except ValidationError as err:
            db.session.rollback()
            errors = err.messages
        else:
            db.session.commit()
            flash(_("Security policy saved."), "success")
            return redirect(url_for("security_admin.policy"))
    return render_template("security/policy.html", policy=current_policy(), roles=list(Role),
                           fields=INT_FIELDS, errors=errors, form=request.form), 400 if errors else 200


@bp.route("/second-factors")
def second_factors():
    return render_template("security/second_factors.html", **second_factor_page())


@bp.route("/second-factors/<int:user_id>/reset", methods=["POST"])
def reset_second_factor(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    reset_mfa(user, now=utcnow())
    db.session.commit()
    flash(_("Second factor reset; %(name)s enrols again at the next sign-in.", name=user.username), "success")
    return redirect(url_for("security_admin.second_factors"))
