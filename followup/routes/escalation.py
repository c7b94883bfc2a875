"""A hospital's escalation thresholds (hours per step and kind of work), set by QA or the
hospital admin; the rules are in followup/rectification/escalation.py."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.access import blueprint_only_for
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..rectification import escalation as E
from ..schemas.ledger import load_or_400
from ..schemas.notifications import EscalationIn
from . import nav

bp = Blueprint("escalation", __name__, url_prefix="/escalation")
blueprint_only_for(bp, Role.QA, Role.HOSPITAL_ADMIN)
nav("escalation.settings", "Escalation", [Role.QA, Role.HOSPITAL_ADMIN], order=46)


@bp.route("/", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "POST":
        data = load_or_400(EscalationIn(), request.form)
        E.set_thresholds(current_user.hospital_id, E.thresholds_from_form(data), user=current_user, now=utcnow())
        db.session.commit()
        flash(_("Escalation thresholds saved."), "success")
        return redirect(url_for("escalation.settings"))
    return render_template("escalation/settings.html", **E.settings_page(current_user.hospital_id))
