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
    db.session.execute(select(1))
    return {"status": "ok"}
