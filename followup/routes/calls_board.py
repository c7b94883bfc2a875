"""The head nurse's ward board: at-risk and overdue tasks, (re)assigning them to a named caller,
and the ward's open red flags."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..core.access import get_task_or_404
from ..calls import CallError, alerts, queueing
from ..calls.board import assign_many as assign_many_tasks
from ..calls.board import board_view, callers_for, may_use_board
from ..core.clock import utcnow
from ..extensions import db
from ..models import User
from . import call_policy

bp = Blueprint("board", __name__, url_prefix="/calls/board")


@bp.before_request
@login_required
def _head_nurses_only():
    if not may_use_board(current_user):
        abort(404)


@bp.route("/")
def index():
    callers = callers_for(current_user)
    return render_template("calls/board.html", **board_view(current_user, utcnow(), call_policy(), request.args),
                           callers=callers, names={u.id: u.display_name for u in callers},
                           alerts=alerts.open_alerts(current_user))


@bp.route("/assign", methods=["POST"])
def assign_many():
    """The ticked rows of a page to one caller (or to nobody); the board comes back as it was."""
    caller_id = request.form.get("caller_id", type=int)
    caller = db.session.scalar(select(User).where(User.id == caller_id)) if caller_id else None
    if caller_id and caller is None:
        abort(404)
    done, refused = assign_many_tasks(current_user, request.form.getlist("task_id", type=int), caller, utcnow())
    db.session.commit()
    if done:
        flash(_("%(n)s assigned to %(name)s.", n=done, name=caller.display_name) if caller
              else _("Assignment removed from %(n)s.", n=done), "success")
    if refused or not done:
        flash(_("%(n)s not assigned: the call has ended or the caller does not work that ward's queue.", n=refused)
              if refused else _("Tick the patients to assign first."), "error")
    return redirect(url_for("board.index", **request.args.to_dict()))


@bp.route("/<int:task_id>/assign", methods=["POST"])
def assign(task_id):
    task = get_task_or_404(current_user, task_id)
    caller_id = request.form.get("caller_id", type=int)
    caller = db.session.scalar(select(User).where(User.id == caller_id)) if caller_id else None
    if caller_id and caller is None:
        abort(404)
    try:
        queueing.assign_task(current_user, task, caller, utcnow())
    except CallError as err:
        db.session.rollback()
        flash(_("This caller does not work this ward's queue.") if err.status == 422 else _("This call has already ended."), "error")
        return redirect(url_for("board.index"))
    db.session.commit()
    flash(_("Assigned to %(name)s.", name=caller.display_name) if caller else _("Assignment removed."), "success")
    return redirect(url_for("board.index"))
