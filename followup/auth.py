"""Passwords (argon2id), sign-in with lockout, and the Flask-Login user loader."""
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from . import audit
from .clock import utcnow
from .extensions import db, login_manager
from .models import User

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


def authenticate(username: str, password: str, now=None) -> User:
    """Check a sign-in; count failures and lock the account after too many. Commits."""
    global _DUMMY_HASH
    now = now or utcnow()
    cfg = current_app.config
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password("dummy-password")
        _hasher().verify(_DUMMY_HASH, "dummy-password")
        audit.record("auth.login_failed", detail={"username": username[:64], "reason": "unknown"})
        db.session.commit()
        raise LoginRefused("invalid")
    if user.locked_until and user.locked_until > now:
        audit.record("auth.login_failed", user=user, detail={"reason": "locked"})
        db.session.commit()
        raise LoginRefused("locked")
    if not check_password(user, password):
        user.failed_logins += 1
        if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            audit.record("auth.locked", user=user)
        audit.record("auth.login_failed", user=user, detail={"reason": "password"})
        db.session.commit()
        raise LoginRefused("invalid")
    if not user.active:
        audit.record("auth.login_failed", user=user, detail={"reason": "inactive"})
        db.session.commit()
        raise LoginRefused("inactive")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("auth.login", user=user)
    db.session.commit()
    return user


@login_manager.user_loader
def load_user(token: str):
    """The session holds "id:session_token"; a changed token (logout everywhere, role change,
    disable) ends every existing session."""
    uid, _, tok = token.partition(":")
    if not uid.isdigit():
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or user.session_token != tok:
        return None
    return user
