"""System administration: organisations and accounts. The system admin never sees patient data
nor the audit log (separation of duties); every change here is audited."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..core import audit
from ..core.clock import utcnow
from ..core.access import blueprint_only_for
from ..extensions import db
from ..models import Hospital, Region, Role, User, Ward
from ..security.sessions import live_sessions
from ..security.users import UserError, change_role, register_user, revoke_user_sessions, set_active
from . import nav

bp = Blueprint("admin", __name__, url_prefix="/admin")
nav("admin.organisations", "Organisations", [Role.SYS_ADMIN], order=80)
nav("admin.users", "Users", [Role.SYS_ADMIN], order=81)

ROLE_CHOICES = [SelectChoice(r.value, _l(r.value)) for r in Role]


class ScopeForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    hospital = StringField(_l("Hospital code"), validators=[Optional(), Length(max=16)])
    wards = StringField(_l("Ward codes (comma-separated)"), validators=[Optional(), Length(max=200)])
    region = StringField(_l("Region code"), validators=[Optional(), Length(max=12)])

    def scope(self) -> dict:
        return {"hospital_code": (self.hospital.data or "").strip() or None,
                "ward_codes": [w.strip() for w in (self.wards.data or "").split(",") if w.strip()],
                "region_code": (self.region.data or "").strip() or None}


class NewUserForm(ScopeForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)])


class WardForm(FlaskForm):
    hospital = StringField(_l("Hospital code"), validators=[DataRequired(), Length(max=16)])
    code = StringField(_l("Ward code"), validators=[DataRequired(), Length(max=16)])
    name = StringField(_l("Ward name"), validators=[DataRequired(), Length(max=64)])


blueprint_only_for(bp, Role.SYS_ADMIN)


@bp.route("/organisations", methods=["GET", "POST"])
def organisations():
    form = WardForm()
    if form.validate_on_submit():
        hospital = db.session.scalar(select(Hospital).where(Hospital.code == form.hospital.data.strip()))
        if hospital is None or any(w.code == form.code.data.strip() for w in hospital.wards):
            flash(_("Unknown hospital code, or the ward code is taken."), "error")
        else:
            ward = Ward(hospital=hospital, code=form.code.data.strip(), name=form.name.data.strip())
            db.session.add(ward)
            db.session.flush()
            audit.record("org.ward_create", object_type="ward", object_id=ward.id)
            db.session.commit()
            flash(_("Ward added."), "success")
            return redirect(url_for("admin.organisations"))
    cities = db.session.scalars(select(Region).where(Region.level == "city").order_by(Region.code)).all()
    return render_template("admin/organisations.html", cities=cities, form=form)


@bp.route("/users", methods=["GET", "POST"])
def users():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = register_user(form.username.data.strip(), form.password.data, Role(form.role.data),
                                 now=utcnow(), display_name=form.display_name.data.strip(), **form.scope())
        except UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    rows = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template("admin/users.html", users=rows, form=form)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_detail(user_id):
    user = _user_or_404(user_id)
    form = ScopeForm(role=user.role, hospital=user.hospital.code if user.hospital else "",
                     wards=",".join(w.code for w in user.wards), region=user.region.code if user.region else "")
    if form.validate_on_submit():
        try:
            change_role(user, Role(form.role.data), now=utcnow(), **form.scope())
        except UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Role changed; the user's sessions were ended."), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form, sessions=live_sessions(user))


@bp.route("/users/<int:user_id>/<any(disable, enable, revoke):action>", methods=["POST"])
def user_action(user_id, action):
    user = _user_or_404(user_id)
    if user.id == current_user.id and action != "revoke":
        abort(400)  # an administrator cannot lock themself out by accident
    now = utcnow()
    if action == "revoke":
        revoke_user_sessions(user, now=now)
    else:
        set_active(user, action == "enable", now=now)
    db.session.commit()
    flash(_("Done."), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))
