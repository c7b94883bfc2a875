"""Passwords (argon2id), sign-in with lockout per (username, address) and per account, the
finish of a sign-in (second factor done, server-side session started), and the user loader."""
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_request_context, request, session
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import audit
from ..core.clock import as_utc, utcnow
from ..extensions import db, login_manager
from ..models import User
from ..models.security import LoginThrottle

# Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = None


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_KIB"],
                          parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    ph = _hasher()
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    return True


class LoginRefused(Exception):
    """reason: 'invalid' (unknown user or wrong password), 'locked', 'inactive'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def client_ip() -> str:
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def _throttle(username: str, ip: str) -> LoginThrottle:
    key = dict(username=username[:64], ip=ip)
    row = db.session.scalar(select(LoginThrottle).filter_by(**key))
    if row is None:
        try:
            with db.session.begin_nested():  # two failures at once: the loser re-reads
                row = LoginThrottle(**key, failures=0)
                db.session.add(row)
        except IntegrityError:
            row = db.session.scalar(select(LoginThrottle).filter_by(**key))
    return row


def _fail(username: str, ip: str, user: User | None, reason: str, now) -> None:
    from .policy import current_policy
    policy = current_policy()
    lock_for = timedelta(minutes=policy.lockout_minutes)
    pair = _throttle(username, ip)
    pair.failures += 1
    pair.updated_at = now
    if pair.failures >= policy.lockout_threshold:
        pair.locked_until, pair.failures = now + lock_for, 0
        audit.record("auth.locked", user=user, detail={"scope": "address"}, now=now)
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= policy.account_lockout_threshold:
            user.locked_until, user.failed_logins = now + lock_for, 0
            audit.record("auth.locked", user=user, detail={"scope": "account"}, now=now)
    detail = {"reason": reason} if user else {"username": username[:64], "reason": reason}
    audit.record("auth.login_failed", user=user, detail=detail, now=now)
    db.session.commit()


def authenticate(username: str, password: str, now=None, ip: str | None = None) -> User:
    """Check a password. Failures count per (username, address) and per account; either limit
    locks. A locked pair is refused before the password is looked at. Commits failures; a
    success only returns the user: finish_login() or the second factor completes it."""
    global _DUMMY_HASH
    now = now or utcnow()
    ip = client_ip() if ip is None else ip
    pair = db.session.scalar(select(LoginThrottle).filter_by(username=username[:64], ip=ip))
    user = db.session.scalar(select(User).where(User.username == username))
    if (pair and pair.locked_until and as_utc(pair.locked_until) > now) or \
            (user and user.locked_until and as_utc(user.locked_until) > now):
        audit.record("auth.login_failed", user=user, now=now,
                     detail={"reason": "locked"} if user else {"username": username[:64], "reason": "locked"})
        db.session.commit()
        raise LoginRefused("locked")
    if user is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password("dummy-password")
        _hasher().verify(_DUMMY_HASH, "dummy-password")
        _fail(username, ip, None, "unknown", now)
        raise LoginRefused("invalid")
    if not check_password(user, password):
        _fail(username, ip, user, "password", now)
        raise LoginRefused("invalid")
    if not user.active:
        audit.record("auth.login_failed", user=user, detail={"reason": "inactive"}, now=now)
        db.session.commit()
        raise LoginRefused("inactive")
    return user


def record_second_factor_failure(user: User, now) -> None:
    """A wrong TOTP or recovery code counts against the same limits as a wrong password."""
    _fail(user.username, client_ip(), user, "second_factor", now)


def finish_login(user: User, *, method: str, now) -> str:
    """Both factors passed: clear the counters, audit, open a server-side session. Returns the
    session token for the cookie. Flushes; the route commits."""
    from .sessions import start_session
    pair = db.session.scalar(select(LoginThrottle).filter_by(username=user.username[:64], ip=client_ip()))
    if pair is not None:
        db.session.delete(pair)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record("auth.login", user=user, detail={"second_factor": method}, now=now)
    ua = request.headers.get("User-Agent", "") if has_request_context() else ""
    return start_session(user, now=now, ip=client_ip(), user_agent=ua)


@login_manager.user_loader
def load_user(token: str):
    """The cookie holds "id:session_token" (Flask-Login) and the server session's token ("sid").
    Both must match a live server-side session (sessions.load_signed_in, one statement)."""
    from .sessions import load_signed_in
    uid, _, tok = token.partition(":")
    if not uid.isdigit():
        return None
    user, written = load_signed_in(int(uid), tok, session.get("sid"), now=utcnow())
    if written:  # last-seen or expiry; nothing else is pending this early in the request
        _commit_keeping_loaded()
    return user


def _commit_keeping_loaded() -> None:
    """Commit without expiring what was just loaded (the user, wards, hospital, policy): they
    are what this transaction read, and reloading them would cost the request four queries."""
    s = db.session()
    keep, s.expire_on_commit = s.expire_on_commit, False
    try:
        s.commit()
    finally:
        s.expire_on_commit = keep


def password_expired(user: User, now) -> bool:
    """The policy's maximum password age (0 = off, the ASVS default; MLPS deployments set 90)."""
    from .policy import current_policy
    days = current_policy().password_max_age_days
    changed = user.password_changed_at or user.created_at
    return bool(days) and as_utc(changed) + timedelta(days=days) <= now


# While a password has expired, only these endpoints answer; everything else sends the user
# to change it.
_EXPIRED_PASSWORD_ENDPOINTS = {"account.index", "auth.logout", "auth.set_language", "static"}


def init_app(app) -> None:
    cfg = app.config
    if cfg["SESSION_COOKIE_SECURE"] and cfg["SESSION_COOKIE_NAME"] == "followup_session" \
            and not cfg.get("SESSION_COOKIE_DOMAIN") and cfg.get("SESSION_COOKIE_PATH") in (None, "/"):
        # Over HTTPS the cookie is bound to this exact host and path (ASVS 3.3.1): browsers
        # refuse a __Host- cookie set by a sibling domain or over plain http.
        cfg["SESSION_COOKIE_NAME"] = "__Host-followup_session"

    @app.before_request
    def _load_user_first():
        """Resolve the session before the view runs, so the loader's own small write (last seen,
        expiry) never shares a transaction with the view's work."""
        from flask import redirect, url_for
        from flask_login import current_user
        if request.endpoint == "static":
            return None  # stylesheets and scripts need no session (and no database round trip)
        current_user._get_current_object()
        if session.get("password_expired") and current_user.is_authenticated \
                and request.endpoint not in _EXPIRED_PASSWORD_ENDPOINTS:
            if request.path.startswith("/api/"):
                from flask import jsonify
                return jsonify({"code": 403, "status": "password expired"}), 403
            return redirect(url_for("account.index"))
