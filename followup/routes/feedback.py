"""Each department's monthly feedback page: the department head reads and acknowledges it (and
exports it); QA sees every department's."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core import audit
from ..core.access import blueprint_only_for, get_scoped_or_404
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..models.department import DepartmentFeedback
from ..rectification import feedback
from ..reports.exports import download, pct
from ..reports.spreadsheet import XLSX_MIMETYPE
from . import nav

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
nav("feedback.index", "Department feedback", [Role.DEPT_RESPONDER, Role.QA], order=43)
blueprint_only_for(bp, Role.DEPT_RESPONDER, Role.QA)


def _feedback_or_404(feedback_id: int) -> DepartmentFeedback:
    return get_scoped_or_404(current_user, DepartmentFeedback, feedback_id, feedback.feedback_filter)


@bp.route("/")
def index():
    return render_template("feedback/index.html", rows=feedback.notices(current_user, limit=120))


@bp.route("/<int:feedback_id>")
def show(feedback_id):
    data = feedback.page(_feedback_or_404(feedback_id), now=utcnow())
    audit.record("feedback.view", object_type="department_feedback", object_id=feedback_id)
    db.session.commit()
    return render_template("feedback/show.html", pct=pct, **feedback.template_labels(), **data)


@bp.route("/<int:feedback_id>/acknowledge", methods=["POST"])
def acknowledge(feedback_id):
    try:
        feedback.acknowledge(_feedback_or_404(feedback_id), user=current_user, now=utcnow())
    except PermissionError:
        abort(403)
    db.session.commit()
    flash(_("Acknowledged."), "success")
    return redirect(url_for("feedback.show", feedback_id=feedback_id))


@bp.route("/<int:feedback_id>/export")
def export(feedback_id):
    data = feedback.page(_feedback_or_404(feedback_id), now=utcnow())
    audit.record("feedback.export", object_type="department_feedback", object_id=feedback_id)
    db.session.commit()
    return download(feedback.export_xlsx(data), XLSX_MIMETYPE, f"{data['ward'].name}-{data['month']}.xlsx")
