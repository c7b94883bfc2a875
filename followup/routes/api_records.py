"""The follow-up forms as JSON: save the ward-level (科室随访) or hospital-level (院级随访) record
of a task you hold. Validation is the forms' own (schemas/followup_forms.py): 422 with the
field errors in flask-smorest's shape, and nothing saved."""
from http import HTTPStatus

from flask import jsonify, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields

from ..core import audit
from ..core.access import CALLER_ROLES, HOSPITAL_RECORD_ROLES, get_discharge_or_404
from ..calls import CallError, queueing, readback, records
from ..core.clock import utcnow
from ..extensions import db
from ..models import Level
from ..schemas.followup_forms import HospitalFollowupForm, WardFollowupForm
from .api_base import api_login_required

blp = Blueprint("api_records", __name__, url_prefix="/api/v1/records",
                description="Follow-up records: the ward-level and hospital-level forms")


class SavedOut(Schema):
    task_id = fields.Int()
    record_id = fields.Int()
    level = fields.Str()
    status = fields.Str(metadata={"description": "the task's status afterwards: done"})


def _body(schema):
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _save(task_id: int, level: Level):
    task = queueing.get_task(current_user, task_id)
    if task.level != level:
        raise CallError(f"task {task_id} is a {task.level}-level task", field="level")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(422, "send the form as a JSON object", errors={"json": {"_schema": ["Invalid input type."]}})
    try:
        record = records.save_followup(current_user, task, data, utcnow())
    except ValidationError as err:
        db.session.rollback()
        return _error(422, "the form has errors; nothing was saved", errors={"json": err.messages})
    except CallError as err:
        db.session.rollback()
        return _error(err.status, err.message)
    db.session.commit()
    return SavedOut().dump({"task_id": task.id, "record_id": record.id, "level": task.level, "status": task.status}), 201


def _error(status: int, message: str, **extra):
    return jsonify({"code": status, "status": HTTPStatus(status).phrase, "message": message, **extra}), status


@blp.errorhandler(CallError)
def _call_error(exc: CallError):
    db.session.rollback()
    return _error(exc.status, exc.message)


def _form_endpoint(level: Level, form, summary: str):
    """One POST /tasks/<id>/<level> per form: same handling, its own documented body."""
    def view(task_id):
        return _save(task_id, level)
    view.__name__, view.__doc__ = f"save_{level}", summary
    for deco in (api_login_required(*CALLER_ROLES), blp.alt_response(422, "UNPROCESSABLE_ENTITY"),
                 blp.alt_response(409, "CONFLICT"), blp.alt_response(404, "NOT_FOUND"),
                 blp.response(201, SavedOut), blp.doc(**_body(form)),
                 blp.route(f"/tasks/<int:task_id>/{level}", methods=["POST"])):
        view = deco(view)
    return view


save_ward = _form_endpoint(Level.WARD, WardFollowupForm, """Save the ward-level record of the task you hold (claimed); the task is then done.
    medication_adherence lists each discharge medicine in order; a red flag alerts the ward.""")
save_hospital = _form_endpoint(Level.HOSPITAL, HospitalFollowupForm, """Save the hospital-level record of the task you hold;
    each complaint among the opinions opens a rectification-ledger item.""")


class DialOut(Schema):
    at = fields.Str(metadata={"description": "local time (Asia/Shanghai), ISO 8601"})
    caller = fields.Str(metadata={"description": "who called"})
    outcome = fields.Str()
    number_index = fields.Int(metadata={"description": "0 = the primary number"})
    callback_at = fields.Str(allow_none=True)
    note = fields.Str()


class TaskCallsOut(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "mandatory, plan or review"})
    level = fields.Str()
    plan = fields.Dict(allow_none=True, metadata={"description": "{id, name, day} of a plan task"})
    status = fields.Str()
    close_reason = fields.Str(allow_none=True)
    last_day = fields.Str()
    completed_at = fields.Str(allow_none=True)
    detail = fields.Bool(metadata={"description": "false: outside your task scope, status only"})
    attempts = fields.List(fields.Nested(DialOut))
    record = fields.Dict(allow_none=True, metadata={
        "description": "the saved form: respondent (patient/family/other), respondent_relation, duration_seconds "
                       "and duration_source (caller/phone_system), and the form's own fields"})
    opinions = fields.List(fields.Dict(), metadata={"description": "text is null where you may not read the words"})
    opinions_hidden = fields.Bool()


class DischargeCallsOut(Schema):
    discharge_id = fields.Int()
    calls = fields.List(fields.Nested(TaskCallsOut))


@blp.route("/discharges/<int:discharge_id>/calls")
@blp.response(200, DischargeCallsOut)
@blp.alt_response(404, "NOT_FOUND")
@api_login_required(*HOSPITAL_RECORD_ROLES)
def discharge_calls(discharge_id):
    """Every call of a discharge read back: dials, saved forms (who answered, duration), opinions."""
    d = get_discharge_or_404(current_user, discharge_id)
    calls = readback.discharge_calls(current_user, d)
    audit.record("discharge.view", object_type="discharge", object_id=d.id,
                 detail={"calls_read_back": sum(1 for c in calls if c["detail"]), "via": "api"})
    db.session.commit()
    return {"discharge_id": d.id, "calls": calls}
