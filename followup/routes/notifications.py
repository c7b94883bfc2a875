"""The notifications page (every signed-in user has one): list, open (marks read), mark all read."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import notifications as N
from ..core.clock import utcnow
from ..rectification import escalation  # noqa: F401  (registers what its notifications say)
from ..extensions import db
from ..schemas.notifications import NotificationFilter
from ..schemas.ledger import load_or_400

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
bp.add_app_template_filter(N.shown_text, "notification_text")


@bp.route("/")
@login_required
def index():
    args = load_or_400(NotificationFilter(), request.args)
    data = N.page(db.session, current_user.id, unread_only=args["unread"], before_id=args["before"])
    return render_template("notifications/index.html", **data)


@bp.route("/<int:notification_id>/open", methods=["POST"])
@login_required
def open_one(notification_id):
    try:
        n = N.mark_read(db.session, current_user.id, notification_id, utcnow())
    except N.NotFound:
        abort(404)
    db.session.commit()
    return redirect(n.link or url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    N.mark_all_read(db.session, current_user.id, utcnow())
    db.session.commit()
    return redirect(url_for("notifications.index"))
