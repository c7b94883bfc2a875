"""Do-not-call and death marks of a hospital: the list (masked), lifting or undoing a mark (a named
user with a reason, audited), and importing a do-not-call list of phones or ID numbers."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.clock import utcnow
from ..core.crypto import keys
from ..extensions import db
from ..models import Role
from ..patients import outcomes
from . import nav

bp = Blueprint("marks", __name__, url_prefix="/patients/marks")
nav("marks.index", "Do-not-call list", [Role.HOSPITAL_ADMIN], order=65)


@bp.before_request
@login_required
def _managers_only():
    if not outcomes.may_manage_marks(current_user):
        abort(404)


@bp.route("/")
def index():
    show_all = request.args.get("all") == "1"
    return render_template("patients/marks.html", marks=outcomes.marks_page(current_user, active_only=not show_all),
                           show_all=show_all, may_import=current_user.role_enum == Role.HOSPITAL_ADMIN)


@bp.route("/<int:mark_id>/lift", methods=["POST"])
def lift(mark_id):
    try:
        reopened = outcomes.lift(current_user, mark_id, request.form.get("reason", ""), utcnow())
    except outcomes.MarkError as err:
        db.session.rollback()
        if err.status == 404:
            abort(404)
        flash(_("Give a reason for lifting the mark.") if err.status == 422 else _("This mark was already lifted."), "error")
        return redirect(request.referrer or url_for("marks.index"))
    db.session.commit()
    flash(_("Mark lifted; %(n)s follow-up tasks reopened.", n=len(reopened)), "success")
    return redirect(request.referrer or url_for("marks.index"))


@bp.route("/import", methods=["POST"])
def import_list():
    if current_user.role_enum != Role.HOSPITAL_ADMIN:
        abort(404)
    upload = request.files.get("file")
    try:
        lines = outcomes.read_list_file(upload.read()) if upload and upload.filename else \
            request.form.get("numbers", "").splitlines()
    except outcomes.MarkError:
        flash(_("The file is neither UTF-8 nor GB18030 text."), "error")
        return redirect(url_for("marks.index"))
    result = outcomes.import_list(current_user, lines[:20_000], request.form.get("reason", ""), utcnow(), keys())
    db.session.commit()
    flash(_("Do-not-call list: %(m)s marked, %(a)s already on the list, %(c)s open tasks closed, %(b)s lines not "
            "understood (%(lines)s).", m=result.marked, a=result.already, c=result.closed, b=len(result.bad),
            lines=", ".join(result.bad[:20])), "success" if not result.bad else "warning")
    return redirect(url_for("marks.index"))
