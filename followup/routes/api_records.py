"""The follow-up forms as JSON: save the ward-level (科室随访) or hospital-level (院级随访) record
of a task you hold. Validation is the forms' own (schemas/followup_forms.py): 422 with the
field errors in flask-smorest's shape, and nothing saved."""
from http import HTTPStatus

from flask import jsonify, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields

from ..core.access import CALLER_ROLES
from ..calls import CallError, queueing, records
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
