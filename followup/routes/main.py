"""The home page: a summary of what the signed-in user can do."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..calls.board import task_summary
from ..core.clock import utcnow
from ..extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("main/index.html", **task_summary(current_user, utcnow()))


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
