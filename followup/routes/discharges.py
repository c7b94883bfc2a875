"""Discharge records: a scoped, masked list and a detail page; revealing contact is logged."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..calls import readback
from ..core import audit
from ..core.access import HOSPITAL_RECORD_ROLES, blueprint_only_for, get_discharge_or_404, may_reveal_contact
from ..extensions import db
from ..core.crypto import keys
from ..patients import outcomes, records_list
from ..models import Role
from ..schemas.discharge import dump_discharge
from . import nav

bp = Blueprint("discharges", __name__, url_prefix="/discharges")
# The hospital's own record (diagnosis, medicines) is for the hospital's staff. Auditors see a
# sampled patient through the sampling call screen, which shows only what they need to call.
blueprint_only_for(bp, *HOSPITAL_RECORD_ROLES)
nav("discharges.index", "Discharges", HOSPITAL_RECORD_ROLES, order=20)


@bp.route("/")
@login_required
def index():
    try:
        page = records_list.discharge_list(current_user, request.args, keys())
    except records_list.BadArgument:
        abort(400)
    return render_template("discharges/index.html", **page)


@bp.route("/<int:discharge_id>")
@login_required
def show(discharge_id):
    d = get_discharge_or_404(current_user, discharge_id)
    page = readback.discharge_page(current_user, d)
    audit.record("discharge.view", object_type="discharge", object_id=d.id,
                 detail={"calls_read_back": sum(1 for c in page["calls"] if c["detail"])})
    db.session.commit()
    return render_template("discharges/show.html", d=dump_discharge(d, current_user),
                           can_reveal=may_reveal_contact(current_user),
                           marks=outcomes.marks_of_patient(current_user, d.patient_id), **page)


@bp.route("/<int:discharge_id>/contact", methods=["POST"])
@login_required
def reveal_contact(discharge_id):
    """The explicit "show number" action: returns the full numbers and writes an audit row."""
    d = get_discharge_or_404(current_user, discharge_id)
    if not may_reveal_contact(current_user):
        abort(404)
    audit.record("pii.reveal_phone", object_type="discharge", object_id=d.id)
    db.session.commit()
    phones = [p for p in [d.patient.phone, *(d.patient.other_phones or "").split(",")] if p]
    return render_template("discharges/_contact.html", phones=phones)
