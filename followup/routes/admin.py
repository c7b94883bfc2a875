"""System administration: organisations and accounts. The system admin never sees patient data
nor the audit log (separation of duties); every change here is audited."""
import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..core import audit
from ..core.clock import utcnow
from ..core.access import blueprint_only_for
from ..core.labels import WARD_KIND_LABELS
from ..extensions import db
from ..models import Hospital, Region, Role, User, Ward
from ..security.sessions import live_sessions
from ..security.policy import password_problem_texts
from ..security.users import (UserError, change_role, register_user, revoke_user_sessions, scope_codes,
                              scope_problems, set_active, user_page, user_scope_choices, username_taken)
from . import nav

bp = Blueprint("admin", __name__, url_prefix="/admin")
nav("admin.organisations", "Organisations", [Role.SYS_ADMIN], order=80)
nav("admin.users", "Users", [Role.SYS_ADMIN], order=81)

ROLE_CHOICES = [SelectChoice(r.value, _l(r.value)) for r in Role]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _id_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class ScopeForm(FlaskForm):
    """Role and scope picked from selects (no codes to type): the hospital, its wards (the ward
    list follows the hospital on the page, static/js/admin_users.js) or the region."""
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    hospital = SelectField(_l("Hospital"), coerce=_id_or_none, validate_choice=False)
    wards = SelectMultipleField(_l("Assigned wards"), coerce=int)
    region = SelectField(_l("Region"), coerce=_id_or_none, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hospitals, wards, regions = user_scope_choices()
        names = {h.id: h.name for h in hospitals}
        self.hospital.choices = [SelectChoice("", _("— choose —"))] + [SelectChoice(h.id, h.name) for h in hospitals]
        self.wards.choices = [SelectChoice(w.id, w.name if w.kind == "clinical" else f"{w.name}（{WARD_KIND_LABELS['functional']}）",
                                           render_kw={"data-hospital": w.hospital_id, "data-kind": w.kind,
                                                      "title": names.get(w.hospital_id, "")}) for w in wards]
        self.region.choices = [SelectChoice("", _("— choose —"))] + [
            SelectChoice(r.id, r.name, render_kw={"data-level": r.level}) for r in regions]
        self.role.render_kw = {"data-scope-kinds": json.dumps({r.value: r.scope_kind for r in Role})}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for field, msgid in scope_problems(Role(self.role.data), self.hospital.data, self.wards.data or [],
                                             self.region.data):
            getattr(self, field).errors = [*getattr(self, field).errors, _(msgid)]
            ok = False
        return ok

    def scope(self) -> dict:
        return scope_codes(Role(self.role.data), self.hospital.data, self.wards.data or [], self.region.data)


class NewUserForm(ScopeForm):
    username = StringField(_l("Username"), filters=[_strip], validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)])

    def validate_username(self, field):
        if username_taken(field.data):
            raise ValidationError(_("This username is taken."))

    def validate_password(self, field):
        problems = password_problem_texts(field.data)
        if problems:
            raise ValidationError(_("The password needs %(problems)s.", problems="；".join(problems)))


class WardForm(FlaskForm):
    hospital = SelectField(_l("Hospital"), coerce=_id_or_none, validate_choice=False, validators=[DataRequired()])
    code = StringField(_l("Ward code"), validators=[DataRequired(), Length(max=16)])
    name = StringField(_l("Ward name"), validators=[DataRequired(), Length(max=64)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hospitals, _wards, _regions = user_scope_choices()
        self.hospital.choices = [SelectChoice("", _("— choose —"))] + [SelectChoice(h.id, h.name) for h in hospitals]


blueprint_only_for(bp, Role.SYS_ADMIN)


@bp.route("/organisations", methods=["GET", "POST"])
def organisations():
    form = WardForm()
    if form.validate_on_submit():
        hospital = db.session.get(Hospital, form.hospital.data)
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
            user = register_user(form.username.data, form.password.data, Role(form.role.data),
                                 now=utcnow(), display_name=form.display_name.data, **form.scope())
        except UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    users, total, page, pages = user_page(request.args.get("page", 1, type=int))
    return render_template("admin/users.html", users=users, total=total, page=page, pages=pages, form=form)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_detail(user_id):
    user = _user_or_404(user_id)
    form = ScopeForm(role=user.role, hospital=user.hospital_id, wards=[w.id for w in user.wards],
                     region=user.region_id)
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
