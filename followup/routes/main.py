"""The home page: a summary of what the signed-in user can do."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..core.access import task_filter
from ..core.clock import utcnow
from ..extensions import db
from ..models import FollowupTask, TaskStatus

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    now = utcnow()
    counts = dict(db.session.execute(
        select(FollowupTask.status, func.count()).where(task_filter(current_user))
        .group_by(FollowupTask.status)).all())
    overdue = db.session.scalar(select(func.count()).select_from(FollowupTask).where(
        task_filter(current_user), FollowupTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]),
        FollowupTask.due_at <= now))
    return render_template("main/index.html", counts=counts, overdue=overdue)


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers. Dependencies are /readyz's business."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    """Readiness: each dependency reported; 503 when one the service needs is down."""
    from flask import current_app
    from ..ops.readiness import check
    ready, report = check(current_app.config, current_app.extensions["migrate"].directory, utcnow())
    return report, 200 if ready else 503
