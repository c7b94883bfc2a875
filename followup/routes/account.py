"""Each user's own account: change password, see and end sessions, new recovery codes."""
from flask import Blueprint, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..core import audit
from ..security.auth import check_password, client_ip
from ..core.clock import utcnow
from ..extensions import db
from ..security import mfa
from ..security.sessions import live_sessions, start_session
from ..security.users import UserError, change_password, revoke_user_sessions

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(), EqualTo("new")])


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password(current_user, form.current.data):
            flash(_("The current password is wrong."), "error")
        else:
            try:
                change_password(current_user, form.new.data, now=utcnow())
            except UserError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                _keep_this_browser_signed_in()
                flash(_("Password changed; your other sessions were ended."), "success")
                return redirect(url_for("account.index"))
    return render_template("account/index.html", form=form, sessions=live_sessions(current_user),
                           this_session=g.get("user_session_id"), has_mfa=mfa.has_confirmed_mfa(current_user))


def _keep_this_browser_signed_in():
    """Every session ended with the password change; this browser gets a new one."""
    user = current_user._get_current_object()
    token = start_session(user, now=utcnow(), ip=client_ip())
    db.session.commit()
    lang = session.get("lang")
    session.clear()
    login_user(user)
    session["sid"] = token
    if lang:
        session["lang"] = lang


@bp.route("/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    revoke_user_sessions(current_user, now=utcnow(), reason="user_everywhere")
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/recovery-codes", methods=["POST"])
@login_required
def recovery_codes():
    if not mfa.has_confirmed_mfa(current_user):
        return redirect(url_for("account.index"))
    codes = mfa.new_recovery_codes(current_user)
    audit.record("auth.recovery_codes_renewed", object_type="user", object_id=current_user.id)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("account.index"))
