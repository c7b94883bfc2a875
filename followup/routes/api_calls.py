"""The call-queue JSON API: the queue and its counts, next call (claim), claim one, release,
record a dial, assign. Thin: parse → followup.calls → commit → dump. Stale versions → 409."""
from http import HTTPStatus

from flask import jsonify
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm.exc import StaleDataError

from ..core import audit
from ..core.access import CALLER_ROLES
from ..calls import CallError, Conflict, Invalid, queueing
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role, User
from ..schemas.calls_api import (AssignIn, AttemptIn, AttemptOut, CallErrorOut, ClaimedTaskOut, NextOut,
                                 QueueArgs, QueueOut, TaskRowOut, VersionIn)
from . import call_policy
from .api_base import api_login_required

blp = Blueprint("api_calls", __name__, url_prefix="/api/v1/calls",
                description="Call queues: next call, dial outcomes, assignment")

CALLERS = tuple(CALLER_ROLES)
READERS = CALLERS + (Role.QA, Role.HOSPITAL_ADMIN)


@blp.before_request
def _keep_committed_objects():
    """Each view commits and then dumps the objects it just wrote: don't expire and reload
    them (this request's session only; it is removed at the end of the request)."""
    db.session().expire_on_commit = False


@blp.errorhandler(CallError)
def _call_error(exc: CallError):
    db.session.rollback()
    extra = {k: v for k, v in {"field": exc.field, **exc.extra}.items() if v is not None}
    return _error(exc.status, exc.message, **extra)


@blp.errorhandler(StaleDataError)
def _stale(_exc):
    db.session.rollback()
    return _error(409, "task changed meanwhile: reload it")


def _error(status: int, message: str, **extra):
    """flask-smorest's error shape (code, status, message) plus the field or current version."""
    return jsonify({"code": status, "status": HTTPStatus(status).phrase, "message": message, **extra}), status


def _errors(*codes):
    """Document the error answers of an endpoint in the OpenAPI (flask-smorest's components)."""
    def deco(fn):
        for code in codes:
            fn = blp.alt_response(code, schema=CallErrorOut, description=HTTPStatus(code).phrase)(fn)
        return fn
    return deco


def _held(task_id: int, version: int):
    task = queueing.get_task(current_user, task_id)
    if task.version != version:
        raise Conflict("task changed meanwhile: reload it", version=task.version)
    return task


def _reveal(task):
    """The claimer sees the full name and number: that view is logged."""
    audit.record("call.open", object_type="task", object_id=task.id,
                 detail={"discharge_id": task.discharge_id})
    return task


@blp.route("/queue")
@blp.arguments(QueueArgs, location="query")
@blp.response(200, QueueOut)
@_errors(401, 403)
@api_login_required(*READERS)
def queue(args):
    """The user's queue by deadline (masked) with its counts."""
    now = utcnow()
    return {"counts": queueing.queue_counts(current_user, now, call_policy()),
            "tasks": queueing.queue_page(current_user, now, args["limit"], args["offset"])}


@blp.route("/next", methods=["POST"])
@blp.response(200, NextOut)
@_errors(401, 403)
@api_login_required(*CALLERS)
def next_call():
    """Claim the most urgent callable task; `task` is null when nothing is callable now."""
    task = queueing.next_task(current_user, utcnow(), call_policy())
    if task is not None:
        _reveal(task)
    db.session.commit()
    return {"task": task}


@blp.route("/tasks/<int:task_id>")
@blp.response(200, ClaimedTaskOut)
@_errors(401, 403, 404, 409)
@api_login_required(*CALLERS)
def show(task_id):
    """A task you have claimed, with the full name and numbers (logged)."""
    task = queueing.get_task(current_user, task_id)
    queueing.require_claim(current_user, task)
    _reveal(task)
    db.session.commit()
    return task


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@blp.response(200, ClaimedTaskOut)
@_errors(401, 403, 404, 409)
@api_login_required(*CALLERS)
def claim(task_id):
    """Claim one task picked from the list (it must be callable now)."""
    task = queueing.claim_task(current_user, task_id, utcnow(), call_policy())
    _reveal(task)
    db.session.commit()
    return task


@blp.route("/tasks/<int:task_id>/release", methods=["POST"])
@blp.arguments(VersionIn)
@blp.response(200, TaskRowOut)
@_errors(401, 403, 404, 409)
@api_login_required(*CALLERS)
def release(args, task_id):
    """Give a claimed task back to the queue untouched."""
    task = queueing.release_task(current_user, _held(task_id, args["version"]), utcnow())
    db.session.commit()
    return task


@blp.route("/tasks/<int:task_id>/attempts", methods=["POST"])
@blp.arguments(AttemptIn)
@blp.response(201, AttemptOut)
@_errors(401, 403, 404, 409, 422)
@api_login_required(*CALLERS)
def record_attempt(args, task_id):
    """Record one dial and its outcome; the retry, close and lost rules apply."""
    task = _held(task_id, args["version"])
    attempt = queueing.record_attempt(current_user, task, args["outcome"], utcnow(),
                                      callback_at=args["callback_at"], note=args["note"],
                                      number_index=args["number_index"], refuse_all=args["refuse_all"],
                                      pol=call_policy())
    db.session.commit()
    return attempt


@blp.route("/tasks/<int:task_id>/assign", methods=["POST"])
@blp.arguments(AssignIn)
@blp.response(200, TaskRowOut)
@_errors(401, 403, 404, 409, 422)
@api_login_required(*CALLERS)
def assign(args, task_id):
    """A head nurse assigns (or reassigns, or with null unassigns) a task to a named caller."""
    task = _held(task_id, args["version"])
    caller = db.session.get(User, args["caller_id"]) if args["caller_id"] is not None else None
    if args["caller_id"] is not None and caller is None:
        raise Invalid("caller_id: no such caller", field="caller_id")
    queueing.assign_task(current_user, task, caller, utcnow())
    db.session.commit()
    return task
