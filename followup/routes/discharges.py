"""Discharge records: a scoped, masked list and a detail page; revealing contact is logged."""
from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..calls import readback
from ..core import audit
from ..core.access import (HOSPITAL_RECORD_ROLES, blueprint_only_for, discharge_filter, get_discharge_or_404,
                      may_reveal_contact)
from ..extensions import db
from ..models import Discharge, Patient, Role, Ward
from ..schemas.discharge import dump_discharge
from . import nav

bp = Blueprint("discharges", __name__, url_prefix="/discharges")
# The hospital's own record (diagnosis, medicines) is for the hospital's staff. Auditors see a
# sampled patient through the sampling call screen, which shows only what they need to call.
blueprint_only_for(bp, *HOSPITAL_RECORD_ROLES)
nav("discharges.index", "Discharges", HOSPITAL_RECORD_ROLES, order=20)

PAGE_SIZE = 50


@bp.route("/")
@login_required
def index():
    q = select(Discharge).join(Patient).where(discharge_filter(current_user))
    term = request.args.get("q", "").strip()[:32]
    if term:
        q = q.where((Discharge.inpatient_no == term) | Patient.name_initials.startswith(term.lower()))
    ward_id = request.args.get("ward", type=int)
    if ward_id:
        q = q.where(Discharge.ward_id == ward_id)
    since = _date_arg("from")
    if since:
        q = q.where(Discharge.discharge_date >= since)
    until = _date_arg("to")
    if until:
        q = q.where(Discharge.discharge_date <= until)
    page = max(1, min(request.args.get("page", 1, type=int), 10_000))
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = db.session.scalars(q.order_by(Discharge.discharge_date.desc(), Discharge.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    wards = db.session.scalars(select(Ward).where(Ward.id.in_(
        select(Discharge.ward_id).where(discharge_filter(current_user)).distinct())).order_by(Ward.name)).all()
    return render_template("discharges/index.html", rows=dump_discharge(rows, current_user, many=True),
                           total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)), wards=wards)


def _date_arg(name):
    raw = request.args.get(name, "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        abort(400)


@bp.route("/<int:discharge_id>")
@login_required
def show(discharge_id):
    d = get_discharge_or_404(current_user, discharge_id)
    page = readback.discharge_page(current_user, d)
    audit.record("discharge.view", object_type="discharge", object_id=d.id,
                 detail={"calls_read_back": sum(1 for c in page["calls"] if c["detail"])})
    db.session.commit()
    return render_template("discharges/show.html", d=dump_discharge(d, current_user),
                           can_reveal=may_reveal_contact(current_user), **page)


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
