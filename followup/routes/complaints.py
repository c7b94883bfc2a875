"""One intake for complaints (投诉一口受理): QA and the follow-up centre register a complaint from any
channel; on the ledger item QA names the responsible person and records the reply to the
patient; QA and the department attach evidence; evidence files are served only in scope."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..core import audit
from ..core.access import blueprint_only_for, evidence_item_or_404, get_scoped_or_404, ledger_filter
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role, User
from ..models.opinion import ItemEvidence, RectificationItem
from ..rectification import complaints as C
from . import nav

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
nav("complaints.new", "Register a complaint", [Role.QA, Role.CENTRE_STAFF], order=41)
blueprint_only_for(bp, Role.QA, Role.CENTRE_STAFF, Role.DEPT_RESPONDER, Role.COUNTY_AUDITOR, Role.CITY_AUDITOR)


def _only(*roles):
    if current_user.role_enum not in roles:
        abort(404)


def _item(item_id: int) -> RectificationItem:
    return get_scoped_or_404(current_user, RectificationItem, item_id, ledger_filter)


def _back(item_id: int, error: Exception | None = None, done: str = ""):
    if error is None:
        db.session.commit()
        flash(done, "success")
    else:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("ledger.show", item_id=item_id))


@bp.route("/new")
def new():
    _only(*C.INTAKE_ROLES)
    data = C.intake_page(current_user, request.args.get("inpatient_no", ""))
    db.session.commit()  # the lookup's audit row
    return render_template("complaints/new.html", **data)


@bp.route("/new", methods=["POST"])
def register():
    _only(*C.INTAKE_ROLES)
    try:
        item = C.register_from_form(current_user, request.form, now=utcnow())
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("complaints.new", inpatient_no=request.form.get("inpatient_no", "")))
    db.session.commit()
    flash(_("Registered as ledger item %(n)s, due %(due)s.", n=item.id, due=item.due_date), "success")
    return redirect(url_for("ledger.show", item_id=item.id) if current_user.role_enum == Role.QA else url_for("complaints.new"))


@bp.route("/<int:item_id>/responsible", methods=["POST"])
def responsible(item_id):
    _only(Role.QA)
    item = _item(item_id)
    person = db.session.get(User, _int(request.form.get("user_id")) or 0)
    try:
        if person is None:
            raise C.ComplaintError(_("Name a head of the department or QA of this hospital."))
        C.set_responsible(item, person, user=current_user, now=utcnow())
    except ValueError as exc:
        return _back(item_id, exc)
    return _back(item_id, done=_("Responsible person named."))


@bp.route("/<int:item_id>/evidence", methods=["POST"])
def evidence(item_id):
    _only(Role.QA, Role.DEPT_RESPONDER)
    item, upload, text = _item(item_id), request.files.get("file"), request.form.get("text", "")
    try:
        if text.strip() or not (upload and upload.filename):
            C.add_evidence_text(item, text, user=current_user, now=utcnow())
        if upload and upload.filename:
            C.store_evidence_file(item, upload.stream, upload.filename, root=C.evidence_root(), user=current_user,
                                  max_bytes=current_app.config["EVIDENCE_MAX_MB"] * 1024 * 1024, now=utcnow())
    except ValueError as exc:
        return _back(item_id, exc)
    return _back(item_id, done=_("Evidence attached."))


@bp.route("/<int:item_id>/evidence/<int:evidence_id>")
def evidence_file(item_id, evidence_id):
    evidence_item_or_404(current_user, item_id)
    ev = db.session.scalar(select(ItemEvidence).where(ItemEvidence.id == evidence_id, ItemEvidence.item_id == item_id))
    if ev is None:
        abort(404)
    audit.record("ledger.evidence_view", object_type="rectification_item", object_id=item_id, detail={"file_id": ev.id})
    db.session.commit()
    resp = send_file(C.evidence_path(ev, C.evidence_root()), mimetype=ev.content_type, as_attachment=True,
                     download_name=ev.filename, max_age=0)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/<int:item_id>/reply", methods=["POST"])
def reply(item_id):
    _only(Role.QA)
    try:
        C.reply_to_patient(_item(item_id), text=request.form.get("text", ""),
                           satisfaction=request.form.get("satisfaction", ""), user=current_user, now=utcnow())
    except ValueError as exc:
        return _back(item_id, exc)
    return _back(item_id, done=_("The reply to the patient is recorded."))


def _int(text):
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 9 else None
