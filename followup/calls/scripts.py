"""Call scripts (话术): which script a call uses, how its placeholders are filled, how the hospital
admin saves one.

Placeholders are filled by plain substitution of four known names. A script is never a
template: "{{ config }}" or "{patient_name.__class__}" in a script (or a hostile patient name)
comes out as the same text, and Jinja escapes it when the call screen shows it."""
import re
from datetime import datetime

from babel.dates import format_skeleton
from flask import has_request_context
from flask_babel import get_locale, gettext, lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates
from sqlalchemy import select

from ..core import audit
from ..extensions import db
from ..models import FollowupTask, Level, Ward
from ..models.call import CallScript

PLACEHOLDERS = ("patient_name", "discharge_date", "department", "doctor")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

# Used when a hospital has written none for the level. Translated at render time.
DEFAULT_SCRIPTS = {
    Level.WARD: _l("Hello, is this {patient_name}? I am a nurse from the {department} department. You were "
                   "discharged on {discharge_date} under Dr {doctor}, and we are calling to ask how you are "
                   "recovering. Do you have a few minutes?"),
    Level.HOSPITAL: _l("Hello, is this {patient_name}? I am calling from the hospital's follow-up centre about "
                       "your stay in {department} (discharged on {discharge_date}). We would like to hear how "
                       "satisfied you were and any opinions or suggestions you have. Do you have a few minutes?"),
}


def render_script(body: str, values: dict[str, str]) -> str:
    """Fill {patient_name} {discharge_date} {department} {doctor}; leave anything else as written."""
    def fill(m):
        name = m.group(1)
        return str(values.get(name, "")) if name in PLACEHOLDERS else m.group(0)
    return _PLACEHOLDER.sub(fill, body)


def values_for(task: FollowupTask, locale=None) -> dict[str, str]:
    """The placeholders' values; the discharge date as it is said aloud (11月3日, not 2026-11-03)."""
    d = task.discharge
    spoken = format_skeleton("MMMd", d.discharge_date, locale=locale or (has_request_context() and get_locale()) or "zh_Hans_CN")
    return {"patient_name": d.patient.name, "discharge_date": spoken,
            "department": d.ward.name, "doctor": d.attending_doctor}


def script_for(hospital_id: int, ward_id: int | None, level: str) -> CallScript | None:
    """The department's own script, else the hospital's default for the level."""
    rows = db.session.scalars(select(CallScript).where(
        CallScript.hospital_id == hospital_id, CallScript.level == level,
        (CallScript.ward_id == ward_id) | CallScript.ward_id.is_(None))).all()
    return next((s for s in rows if s.ward_id is not None), None) or next(iter(rows), None)


REVIEW_SCRIPT = _l("Hello, is this {patient_name}? This is {department}. We are calling to remind you of your clinic "
                   "visit tomorrow. Please bring your discharge papers and your medicines. Do you have any questions?")


def script_text(task: FollowupTask) -> str:
    """The script of a call with the patient's details filled in (a plan call: the plan's own)."""
    if task.kind == "plan" and task.plan is not None and task.plan.script.strip():
        return render_script(task.plan.script, values_for(task))
    if task.kind == "review":
        return render_script(gettext(str(REVIEW_SCRIPT)), values_for(task))
    script = script_for(task.hospital_id, task.ward_id, task.level)
    body = script.body if script and script.body.strip() else gettext(str(DEFAULT_SCRIPTS[Level(task.level)]))
    return render_script(body, values_for(task))


class ScriptIn(Schema):
    class Meta:
        unknown = RAISE

    level = fields.Str(required=True, validate=validate.OneOf([lv.value for lv in Level],
                                                              error="Choose one of the listed values."))
    ward_id = fields.Int(load_default=None, allow_none=True)
    title = fields.Str(load_default="", validate=validate.Length(max=64, error="Text is too long."))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=4000, error="Write the script (at most 4000 characters)."))

    @validates("body")
    def _known_placeholders(self, body, **_kw):
        unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(body)} - set(PLACEHOLDERS))
        if unknown:
            raise ValidationError(["Unknown placeholder. Use {patient_name}, {discharge_date}, {department} or {doctor}.",
                                   " ".join("{%s}" % u for u in unknown)])


def save_script(user, data: dict, now: datetime) -> CallScript:
    """Create or replace the hospital admin's script for (level, department or default). Flushes."""
    clean = ScriptIn().load(data)
    ward_id = clean["ward_id"]
    if ward_id is not None and db.session.scalar(
            select(Ward.id).where(Ward.id == ward_id, Ward.hospital_id == user.hospital_id)) is None:
        raise ValidationError({"ward_id": ["Choose a department of this hospital."]})
    script = _script_at(user.hospital_id, clean["level"], ward_id)
    if script is None:
        script = CallScript(hospital_id=user.hospital_id, ward_id=ward_id, level=clean["level"])
        db.session.add(script)
    script.title, script.body = clean["title"], clean["body"]
    script.updated_by_id, script.updated_at = user.id, now
    db.session.flush()
    audit.record("script.save", user=user, object_type="call_script", object_id=script.id, now=now)
    return script


def _script_at(hospital_id: int, level: str, ward_id: int | None) -> CallScript | None:
    """The script saved for exactly (level, department), or the level's default when ward_id is None."""
    return db.session.scalar(select(CallScript).where(
        CallScript.hospital_id == hospital_id, CallScript.level == level,
        CallScript.ward_id.is_(None) if ward_id is None else CallScript.ward_id == ward_id))


# --- the hospital admin's pages ---------------------------------------------------------------

def clinical_wards(hospital_id: int) -> list[Ward]:
    return db.session.scalars(select(Ward).where(Ward.hospital_id == hospital_id, Ward.kind == "clinical")
                              .order_by(Ward.name)).all()


def editable(user, level: str, ward_id: int | None) -> bool:
    """A known level, and either the default or one of the user's hospital's clinical departments."""
    return level in {lv.value for lv in Level} and (
        not ward_id or ward_id in {w.id for w in clinical_wards(user.hospital_id)})


def sample_values() -> dict[str, str]:
    """What a preview fills the placeholders with."""
    return {"patient_name": gettext("Zhang San (sample)"), "discharge_date": "2026-11-20",
            "department": gettext("Cardiology (sample)"), "doctor": gettext("Wang (sample)")}


def scripts_page(user) -> dict:
    """The list: every clinical department and the scripts saved per (level, department)."""
    scripts = {(s.level, s.ward_id): s for s in db.session.scalars(
        select(CallScript).where(CallScript.hospital_id == user.hospital_id))}
    return {"wards": clinical_wards(user.hospital_id), "scripts": scripts, "levels": list(Level)}


def edit_page(user, level: str, ward_id: int | None, posted=None) -> dict:
    """The edit form: the posted text after a refused save, else the saved script, else the
    level's default; with the placeholders and a filled-in preview."""
    if posted is not None:
        body, title = posted.get("body"), posted.get("title")
    else:
        existing = _script_at(user.hospital_id, level, ward_id)
        body = existing.body if existing else gettext(str(DEFAULT_SCRIPTS[Level(level)]))
        title = existing.title if existing else ""
    return {"level": level, "ward": db.session.get(Ward, ward_id) if ward_id else None, "body": body,
            "title": title, "placeholders": PLACEHOLDERS, "preview": render_script(body or "", sample_values())}
