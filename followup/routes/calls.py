"""The nurse's day: the queue page, "next call", and the call screen of a claimed task with its
attempt buttons and follow-up form (htmx partials: no full reloads while on a call)."""
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from ..core import audit
from ..core.access import CALLER_ROLES, get_task_or_404, mask_name
from ..calls import CallError, Conflict, alerts, inbound, policy, queueing, records, vocabulary
from ..rectification import departments
from ..core.crypto import keys
from ..calls.queue_view import queue_view
from ..calls.scripts import script_text
from ..core.clock import local, utcnow
from ..extensions import db
from ..models import Role, TaskStatus, Ward
from ..schemas.discharge import dump_discharge
from ..plans import library
from ..schemas.followup_forms import AttemptForm, flat_errors, from_form
from . import call_policy, nav

bp = Blueprint("calls", __name__, url_prefix="/calls")
nav("calls.queue", "Call queue", [Role.NURSE, Role.CENTRE_STAFF], order=10)


@bp.before_request
@login_required
def _callers_only():
    if current_user.role_enum not in CALLER_ROLES:
        abort(404)


@bp.route("/")
def queue():
    return render_template("calls/queue.html", **queue_view(current_user, utcnow(), call_policy(), request.args))


@bp.route("/find", methods=["GET", "POST"])
def find():
    """The search box of callers' pages; POSTed with a whole phone number, it answers an inbound
    call: the patient's open task is claimed and the call screen opens (or the page says why not)."""
    text = (request.form if request.method == "POST" else request.args).get("q", "")
    found = inbound.find(current_user, text, utcnow(), call_policy(), keys(), answer=request.method == "POST")
    db.session.commit()
    if found.task is not None:
        return redirect(url_for("calls.screen", task_id=found.task.id))
    return render_template("calls/find.html", found=found, now=utcnow(),
                           rows=dump_discharge(found.discharges, current_user, many=True))


@bp.route("/next", methods=["POST"])
def next_call():
    now, pol = utcnow(), call_policy()
    task = queueing.next_task(current_user, now, pol)
    db.session.commit()
    if task is None:
        flash(_nobody_now(now, pol), "warning")
        return redirect(url_for("calls.queue"))
    return redirect(url_for("calls.screen", task_id=task.id))


@bp.route("/<int:task_id>/claim", methods=["POST"])
def claim(task_id):
    try:
        queueing.claim_task(current_user, task_id, utcnow(), call_policy(), inbound=request.form.get("inbound") == "1")
    except CallError as err:
        db.session.rollback()
        if err.status == 404:
            abort(404)
        flash(_call_error(err), "error")
        return redirect(url_for("calls.queue"))
    db.session.commit()
    return redirect(url_for("calls.screen", task_id=task_id))


@bp.route("/<int:task_id>/release", methods=["POST"])
def release(task_id):
    task = get_task_or_404(current_user, task_id)
    try:
        queueing.release_task(current_user, task, utcnow())
    except CallError as err:
        flash(_call_error(err), "error")
    db.session.commit()
    return redirect(url_for("calls.queue"))


@bp.route("/<int:task_id>")
def screen(task_id):
    """The only page with the patient's full name and number: only for the claim's holder, and
    every opening is in the audit log."""
    task = get_task_or_404(current_user, task_id, with_patient=True)
    if task.status != TaskStatus.CLAIMED or task.claimed_by_id != current_user.id:
        flash(_("Claim this patient before calling."), "warning")
        return redirect(url_for("calls.queue"))
    audit.record("pii.call_screen", object_type="followup_task", object_id=task.id)
    db.session.commit()
    return render_template("calls/screen.html", task=task, d=task.discharge, script=script_text(task), now=utcnow(),
                           age=dump_discharge(task.discharge, current_user)["age"],
                           attempts=queueing.attempts_of(task), **_form_context(task, MultiDict(), {}))


@bp.route("/<int:task_id>/attempt", methods=["POST"])
def attempt(task_id):
    task = get_task_or_404(current_user, task_id, with_patient=True)
    try:
        data = AttemptForm().load(from_form(request.form))
        queueing.record_attempt(current_user, task, data["outcome"], utcnow(), callback_at=data["callback_at"],
                                note=data["note"], refuse_all=data["refuse_all"], pol=call_policy())
    except (ValidationError, CallError) as err:
        db.session.rollback()
        message = _call_error(err) if isinstance(err, CallError) else _errors_text(err)
        return render_template("calls/_attempts.html", task=task, attempts=queueing.attempts_of(task),
                               error=message), 422
    db.session.commit()
    return render_template("calls/_attempts.html", task=task, attempts=queueing.attempts_of(task),
                           finished=task.status != TaskStatus.CLAIMED)


@bp.route("/<int:task_id>/record", methods=["POST"])
def record(task_id):
    task = get_task_or_404(current_user, task_id, with_patient=True)
    data = from_form(request.form)
    try:
        try:
            records.save_followup(current_user, task, data, utcnow())
        except StaleDataError:
            raise Conflict("task changed meanwhile") from None
    except ValidationError as err:
        db.session.rollback()
        return render_template("calls/_form.html", task=task, d=task.discharge,
                               **_form_context(task, request.form, flat_errors(err.messages))), 422
    except CallError as err:
        db.session.rollback()
        return render_template("calls/_form.html", task=task, d=task.discharge,
                               **_form_context(task, request.form, {"_schema": [_call_error(err)]})), 409
    db.session().expire_on_commit = False  # the answer shows what was just written: no reload
    db.session.commit()
    return render_template("calls/_record_saved.html", task=task, saved=True, attempts=queueing.attempts_of(task))


@bp.route("/<int:task_id>/opinion-row")
def opinion_row(task_id):
    task = get_task_or_404(current_user, task_id)
    i = min(max(request.args.get("i", 0, type=int), 0), 19)
    return render_template("calls/_opinion_more.html", task=task, i=i, **_form_context(task, MultiDict(), {}))


@bp.route("/alerts/<int:alert_id>/ack", methods=["POST"])
def acknowledge_alert(alert_id):
    try:
        alerts.acknowledge(current_user, alert_id, request.form.get("ack_note", ""), utcnow())
    except CallError as err:
        db.session.rollback()
        if err.status == 404:
            abort(404)
        flash(_call_error(err), "error")
        return redirect(request.referrer or url_for("calls.queue"))
    db.session.commit()
    flash(_("Red flag acknowledged."), "success")
    return redirect(request.referrer or url_for("calls.queue"))


@bp.context_processor
def _vocabulary():
    return {"outcome_labels": vocabulary.OUTCOME_LABELS, "outcome_keys": vocabulary.OUTCOME_KEYS,
            "close_reason_labels": vocabulary.CLOSE_REASON_LABELS,
            "condition_labels": vocabulary.CONDITION_LABELS, "guidance_labels": vocabulary.GUIDANCE_LABELS,
            "guidance_choices": vocabulary.GUIDANCE_CHOICES, "satisfaction_labels": vocabulary.SATISFACTION_LABELS,
            "score_labels": vocabulary.SCORE_LABELS, "sentiment_labels": vocabulary.SENTIMENT_LABELS,
            "category_labels": vocabulary.CATEGORY_LABELS, "respondent_labels": vocabulary.RESPONDENT_LABELS,
            "plan_field_labels": library.FIELDS, "symptom_labels": library.SYMPTOMS, "wound_labels": library.WOUND_STATES,
            "vitals": library.VITALS}


@bp.app_template_filter("mask_name")
def _mask_name(name):
    return mask_name(name)


@bp.app_template_filter("call_by")
def _call_by(due_at):
    """The last local day to call on time: a task due at midnight is due "by" the day before."""
    return local(due_at - timedelta(microseconds=1)).strftime("%m-%d")


def _departments(task):
    """Departments an opinion may concern: the hospital's wards, clinical and functional."""
    return db.session.scalars(select(Ward).where(Ward.hospital_id == task.hospital_id).order_by(Ward.kind, Ward.name)).all()


def _form_context(task, values, errors) -> dict:
    rows = {k.split(".")[1] for k in values if k.startswith("opinions.") and k.count(".") == 2}
    return {"values": values, "errors": errors, "departments": _departments(task), "default_ward": task.ward_id,
            "suggested_wards": departments.suggestions(task.hospital_id, task.ward_id),
            "opinion_rows": min(max(len(rows), 1), 20)}


# The queue's errors are technical English; these are what a nurse reads instead.
_CALL_ERRORS = {
    "task is not claimed by you": _l("You are no longer on this call: the claim ran out or the call was finished."),
    "task is being called by someone else": _l("Someone else is calling this patient."),
    "task is not callable yet": _l("The retry spacing or a call-back time the patient asked for is not reached yet."),
    "already acknowledged": _l("Someone has already acknowledged this red flag."),
    # The task's row moved under the form (an HIS correction moved its ward, a colleague's dial
    # paced it): the ORM's version check refused the save. The form is shown again as typed.
    "task changed meanwhile": _l("This follow-up was changed meanwhile (for instance the hospital system "
                                 "corrected the discharge). Check it and save again: what you entered is kept."),
    "task needs data before it can be called": _l("This patient has no valid phone number or no discharge "
                                                  "disposition yet: complete it under Missing data first."),
}
_CALL_FIELDS = {"callback_at": _l("Choose a call-back time in the future, within the allowed days."),
                "ack_note": _l("Say which doctor was told (at most 500 characters).")}


def _call_error(err: CallError) -> str:
    if err.extra.get("held_by"):
        return _("%(name)s is calling this patient (until %(time)s).", name=err.extra["held_by"],
                 time=local(datetime.fromisoformat(err.extra["held_until"])).strftime("%H:%M"))
    if err.message == "outside calling hours":
        return _nobody_now(utcnow(), call_policy())
    if err.message in _CALL_ERRORS:
        return str(_CALL_ERRORS[err.message])
    if err.field in _CALL_FIELDS:
        return str(_CALL_FIELDS[err.field])
    return _("This call has already ended.") if err.status == 409 else err.message


def _nobody_now(now, pol) -> str:
    hours = policy.hours_now(now, pol)
    if not hours.open_now:
        start = local(hours.next_start).strftime("%H:%M" if hours.days_ahead == 0 else "%m-%d %H:%M")
        start = f'{_("tomorrow")} {start[-5:]}' if hours.days_ahead == 1 else start
        return _("Outside calling hours (%(hours)s): the next window starts %(start)s.", hours=hours.text, start=start)
    return _("Nobody can be called right now: every retry and call-back in your queue is due later.")


def _errors_text(err: ValidationError) -> str:
    return "; ".join(f"{_(m)}" for msgs in flat_errors(err.messages).values() for m in msgs)
