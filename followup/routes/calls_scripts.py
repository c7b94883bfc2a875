"""The hospital admin's call scripts (话术): one default per level and, where a department wants
its own, one per department; a preview fills the placeholders with sample details."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select

from ..calls.scripts import DEFAULT_SCRIPTS, PLACEHOLDERS, render_script, save_script
from ..core.clock import utcnow
from ..extensions import db
from ..models import Level, Role, Ward
from ..models.call import CallScript
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
    wards = _wards()
    scripts = {(s.level, s.ward_id): s for s in db.session.scalars(
        select(CallScript).where(CallScript.hospital_id == current_user.hospital_id))}
    return render_template("calls/scripts.html", wards=wards, scripts=scripts, levels=list(Level))


@bp.route("/edit", methods=["GET", "POST"])
def edit():
    level = request.values.get("level", "ward")
    ward_id = request.values.get("ward_id", type=int)
    if level not in {lv.value for lv in Level} or (ward_id and ward_id not in {w.id for w in _wards()}):
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
    existing = db.session.scalar(select(CallScript).where(
        CallScript.hospital_id == current_user.hospital_id, CallScript.level == level,
        CallScript.ward_id.is_(None) if ward_id is None else CallScript.ward_id == ward_id))
    body = request.form.get("body") if request.method == "POST" else (existing.body if existing else _(str(DEFAULT_SCRIPTS[Level(level)])))
    title = request.form.get("title") if request.method == "POST" else (existing.title if existing else "")
    ward = db.session.get(Ward, ward_id) if ward_id else None
    return render_template("calls/script_edit.html", level=level, ward=ward, body=body, title=title,
                           errors=errors, placeholders=PLACEHOLDERS, preview=render_script(body or "", _sample())), \
        422 if errors else 200


@bp.route("/preview", methods=["POST"])
def preview():
    return render_template("calls/_script_preview.html", preview=render_script(request.form.get("body", "")[:4000], _sample()))


def _sample() -> dict:
    return {"patient_name": _("Zhang San (sample)"), "discharge_date": "2026-11-20",
            "department": _("Cardiology (sample)"), "doctor": _("Wang (sample)")}


def _wards():
    return db.session.scalars(select(Ward).where(Ward.hospital_id == current_user.hospital_id, Ward.kind == "clinical")
                              .order_by(Ward.name)).all()
