"""Sign in (password, then the second factor when the user has one or the policy requires it),
sign out, language choice. Between the two factors the browser holds only a short-lived
pre-auth marker: it is not signed in and no page or API accepts it."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..core import audit
from ..security.auth import LoginRefused, authenticate, finish_login, password_expired, record_second_factor_failure
from ..core.clock import utcnow
from ..extensions import db
from ..models import User
from ..security import mfa
from ..security.policy import mfa_required
from ..security.sessions import revoke_session

bp = Blueprint("auth", __name__)

PREAUTH_MINUTES = 5
PREAUTH_MAX_TRIES = 5


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data.strip(), form.password.data)
        except LoginRefused as refused:
            flash(_("Account locked after repeated failures; try again later.") if refused.reason == "locked"
                  else _("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 401
        next_url = _safe_next(request.args.get("next"))
        _fresh_session()  # nothing from before the sign-in survives (no fixation)
        if mfa.has_confirmed_mfa(user) or mfa_required(user):
            return _to_second_factor(user, next_url)
        return _signed_in(user, "none", next_url)
    return render_template("auth/login.html", form=form)


def _to_second_factor(user: User, next_url: str):
    """Between the two factors the session holds only this marker: who, her session epoch, the
    tries so far, when, and where to go once signed in."""
    session["preauth"] = {"uid": user.id, "epoch": user.session_token, "tries": 0,
                          "at": utcnow().timestamp(), "next": next_url}
    return redirect(url_for("auth.second_factor"))


def _preauth_user() -> User:
    """The user who passed the password step moments ago, or 404 (nothing to see here)."""
    pre = session.get("preauth")
    if not pre:
        abort(404)
    if utcnow().timestamp() - pre["at"] > PREAUTH_MINUTES * 60:
        session.pop("preauth", None)
        flash(_("Sign-in took too long; please start again."), "error")
        return None
    user = db.session.get(User, pre["uid"])
    if user is None or not user.active or user.session_token != pre["epoch"]:
        session.pop("preauth", None)
        abort(404)
    return user


def _preauth_step(enrolled: bool):
    """(the pre-auth user, None) when this step is hers — the code step once she has a confirmed
    second factor, enrolment before — else (None, where to go instead)."""
    user = _preauth_user()
    if user is None:
        return None, redirect(url_for("auth.login"))
    if mfa.has_confirmed_mfa(user) != enrolled:
        return None, redirect(url_for("auth.enrol" if enrolled else "auth.second_factor"))
    return user, None


@bp.route("/login/verify", methods=["GET", "POST"])
def second_factor():
    user, elsewhere = _preauth_step(enrolled=True)
    if elsewhere:
        return elsewhere
    form = CodeForm()
    if form.validate_on_submit():
        now = utcnow()
        code = form.code.data.strip()
        method = "totp" if mfa.verify_totp(user, code, now=now) else \
            "recovery_code" if mfa.use_recovery_code(user, code, now=now) else None
        if method:
            return _signed_in(user, method, session["preauth"]["next"])
        _count_failed_try(user, now)
        return render_template("auth/verify.html", form=form), 401
    return render_template("auth/verify.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First sign-in of a user whose role needs a second factor: scan, confirm, keep codes."""
    user, elsewhere = _preauth_step(enrolled=False)
    if elsewhere:
        return elsewhere
    form, row = CodeForm(), mfa.mfa_of(user)
    if request.method == "GET" or row is None:
        row = mfa.begin_enrolment(user)
        db.session.commit()
    elif form.validate_on_submit():
        now = utcnow()
        if codes := mfa.confirm_enrolment(user, form.code.data, now=now):
            next_url = session["preauth"]["next"]
            _signed_in(user, "totp", next_url)
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
        _count_failed_try(user, now)
    return render_template("auth/enrol.html", form=form, **mfa.enrolment_page(user, row)), \
        401 if request.method == "POST" else 200


def _count_failed_try(user, now):
    pre = session["preauth"]
    pre["tries"] += 1
    session["preauth"] = pre
    audit.record("auth.mfa_failed", user=user, object_type="user", object_id=user.id, now=now)
    record_second_factor_failure(user, now)  # commits
    if pre["tries"] >= PREAUTH_MAX_TRIES:
        session.pop("preauth", None)
    flash(_("That code is not valid (or was already used)."), "error")


def _signed_in(user: User, method: str, next_url: str):
    now = utcnow()
    token = finish_login(user, method=method, now=now)
    db.session.commit()
    _fresh_session()  # a new session id at sign-in
    login_user(user)
    session["sid"] = token
    if password_expired(user, now):
        session["password_expired"] = True
        flash(_("Your password has expired; choose a new one."), "warning")
        return redirect(url_for("account.index"))
    return redirect(next_url)


def _fresh_session():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.index")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    now = utcnow()
    audit.record("auth.logout", now=now)
    revoke_session(session.get("sid"), now=now)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code):
    if code in ("zh_CN", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))
