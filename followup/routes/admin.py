"""System administration pages: organisations and accounts (never patient data)."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Region, Role, User
from . import nav

bp = Blueprint("admin", __name__, url_prefix="/admin")
nav("admin.organisations", "Organisations", [Role.SYS_ADMIN], order=80)
nav("admin.users", "Users", [Role.SYS_ADMIN], order=81)


@bp.before_request
@login_required
def _only_sys_admin():
    if current_user.role != Role.SYS_ADMIN:
        abort(404)


@bp.route("/organisations")
def organisations():
    cities = db.session.scalars(select(Region).where(Region.level == "city").order_by(Region.code)).all()
    return render_template("admin/organisations.html", cities=cities)


@bp.route("/users")
def users():
    rows = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template("admin/users.html", users=rows)
