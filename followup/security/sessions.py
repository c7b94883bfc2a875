"""Server-side sessions: the browser cookie holds a random token, the table holds its hash, the
user's epoch and the times that enforce the idle and absolute timeouts. Revoking is an UPDATE."""
import functools
import hashlib
import secrets
from datetime import timedelta

from flask import g
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from ..core.clock import as_utc
from ..extensions import db
from ..models import User
from ..models.security import SecurityPolicy, UserSession
from .policy import POLICY_ID, remember_policy

# Last-seen is written at most this often, so a nurse's clicks are not each a write.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, now, ip: str = "", user_agent: str = "") -> str:
    """A new session (a new id at every sign-in: no fixation). Returns the cookie token."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, epoch=user.session_token,
                               created_at=now, last_seen_at=now, ip=ip[:64], user_agent=user_agent[:200]))
    db.session.flush()
    return token


def load_signed_in(user_id: int, epoch: str, token: str | None, *, now) -> tuple[User | None, bool]:
    """The request's user if its cookie names a live session, and whether the session row was
    written (last-seen or expiry; flushed, the caller commits). One statement for what every
    signed-in request needs: the session by its token, its user with the wards and hospital
    (queue scope and call rules), and the security policy (its timeouts, checked here; it is
    cached for the request). Logout, revocation (a new epoch), disabling and the timeouts all
    end a session here."""
    if not token:
        return None, False
    row = db.session.execute(_signed_in_statement(), {"token_hash": _hash(token), "uid": user_id}).unique().first()
    if row is None:
        return None, False
    live, user, saved = row
    policy = remember_policy(saved)
    if not user.active or user.session_token != epoch or live.revoked_at is not None \
            or live.epoch != user.session_token:
        return None, False
    if as_utc(live.created_at) + timedelta(hours=policy.absolute_timeout_hours) <= now:
        return _expire(live, "absolute", now), True
    if as_utc(live.last_seen_at) + timedelta(minutes=policy.idle_timeout_minutes) <= now:
        return _expire(live, "idle", now), True
    g.user_session_id = live.id
    if now - as_utc(live.last_seen_at) < TOUCH_EVERY:
        return user, False
    live.last_seen_at = now
    db.session.flush()
    return user, True


@functools.cache
def _signed_in_statement():
    """load_signed_in's statement, built once (every signed-in request runs it: building it and
    its cache key anew cost more CPU than running it), the token and user as bound parameters."""
    return (select(UserSession, User, SecurityPolicy)
            .join(User, User.id == UserSession.user_id)
            .outerjoin(SecurityPolicy, SecurityPolicy.id == POLICY_ID)
            .where(UserSession.token_hash == bindparam("token_hash"), User.id == bindparam("uid"))
            .options(joinedload(User.wards), joinedload(User.hospital)))


def _expire(row: UserSession, reason: str, now):
    row.revoked_at, row.revoked_reason = now, reason
    db.session.flush()
    return None


def revoke_session(token: str | None, *, now, reason: str = "logout") -> None:
    if token:
        db.session.execute(update(UserSession).where(UserSession.token_hash == _hash(token),
                                                     UserSession.revoked_at.is_(None))
                           .values(revoked_at=now, revoked_reason=reason))


def revoke_all(user: User, *, now, reason: str) -> int:
    """End every session of the user (log out everywhere, disable, role or password change).
    The epoch change alone would do; the rows are marked too so the admin page shows why."""
    user.revoke_sessions()
    return db.session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                                        UserSession.revoked_at.is_(None))
                              .values(revoked_at=now, revoked_reason=reason)).rowcount


def live_sessions(user: User) -> list[UserSession]:
    return db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.epoch == user.session_token).order_by(UserSession.last_seen_at.desc())).all()
