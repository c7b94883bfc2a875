"""The hospital admin's departments page: clinical wards and functional departments (codes are
generated), added one by one or from a CSV/xlsx file, and where each opinion category goes."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core.access import blueprint_only_for
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..rectification import departments as D
from . import nav

bp = Blueprint("departments", __name__, url_prefix="/departments")
nav("departments.index", "Departments", [Role.HOSPITAL_ADMIN], order=72)
blueprint_only_for(bp, Role.HOSPITAL_ADMIN)


def _done(result_message: str, error: Exception | None = None):
    if error is None:
        db.session.commit()
        flash(result_message, "success")
    else:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("departments.index"))


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "POST":
        try:
            D.add_department(current_user.hospital_id, request.form.get("name", ""), request.form.get("kind", "functional"),
                             user=current_user, now=utcnow())
        except ValueError as exc:
            return _done("", exc)
        return _done(_("Department added."))
    return render_template("departments/index.html", **D.admin_page(current_user.hospital_id))


@bp.route("/import", methods=["POST"])
def import_file():
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise D.DepartmentError(_("Choose a file."))
        r = D.import_departments(current_user.hospital_id, upload.stream, upload.filename,
                                 default_kind=request.form.get("kind", "functional"), user=current_user, now=utcnow())
    except ValueError as exc:
        return _done("", exc)
    return _done(_("%(a)s added, %(s)s already there, %(e)s rows refused.", a=len(r["added"]), s=len(r["skipped"]),
                   e=len(r["errors"])))


@bp.route("/routes", methods=["POST"])
def set_route():
    f = request.form
    try:
        D.set_route(current_user.hospital_id, f.get("category", ""), ward_id=_int(f.get("ward_id")),
                    days=_int(f.get("due_days")), user=current_user, now=utcnow())
    except ValueError as exc:
        return _done("", exc)
    return _done(_("Saved."))


def _int(text):
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 9 else None
