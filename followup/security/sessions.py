"""Server-side sessions: the browser cookie holds a random token, the table holds its hash, the
user's epoch and the times that enforce the idle and absolute timeouts. Revoking is an UPDATE."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..core.clock import as_utc
from ..extensions import db
from ..models import User
from ..models.security import UserSession
from .policy import current_policy

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


def find_live_session(token: str | None, user: User, *, now) -> tuple[UserSession | None, bool]:
    """(the session for this cookie if still valid, whether it was written): an expired session
    is revoked on the way, a live one's last-seen refreshed. Flushes; the caller commits."""
    if not token:
        return None, False
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token)))
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return None, False
    if row.epoch != user.session_token or not user.active:
        return None, False
    policy = current_policy()
    if as_utc(row.created_at) + timedelta(hours=policy.absolute_timeout_hours) <= now:
        return _expire(row, "absolute", now), True
    if as_utc(row.last_seen_at) + timedelta(minutes=policy.idle_timeout_minutes) <= now:
        return _expire(row, "idle", now), True
    if now - as_utc(row.last_seen_at) < TOUCH_EVERY:
        return row, False
    row.last_seen_at = now
    db.session.flush()
    return row, True


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
