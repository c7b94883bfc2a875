"""Security state: the security admin's policy, server-side sessions, second factors, recovery
codes, login throttling per (username, address), and the anchor left by audit retention."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..core.crypto import EncryptedText
from ..extensions import db
from .types import UTCDateTime

# The legal floor for keeping audit records (网络安全法 第二十一条: at least six months).
AUDIT_RETENTION_FLOOR_DAYS = 180


class SecurityPolicy(db.Model):
    """One row (id 1), edited by the security administrator; defaults are MLPS level 3."""
    id: Mapped[int] = mapped_column(primary_key=True)
    password_min_length: Mapped[int] = mapped_column(Integer, default=10)
    password_min_classes: Mapped[int] = mapped_column(Integer, default=3)  # of lower/upper/digit/other
    password_max_age_days: Mapped[int] = mapped_column(Integer, default=0)  # 0 = never (ASVS)
    lockout_threshold: Mapped[int] = mapped_column(Integer, default=5)  # per username + address
    account_lockout_threshold: Mapped[int] = mapped_column(Integer, default=20)  # all addresses
    lockout_minutes: Mapped[int] = mapped_column(Integer, default=15)
    idle_timeout_minutes: Mapped[int] = mapped_column(Integer, default=15)
    absolute_timeout_hours: Mapped[int] = mapped_column(Integer, default=8)
    mfa_roles: Mapped[list] = mapped_column(JSON, default=list)  # Role values that must use TOTP
    audit_retention_days: Mapped[int] = mapped_column(Integer, default=1095)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class UserSession(db.Model):
    """A signed-in browser. The cookie carries a random token; only its hash is stored here."""
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # User.session_token when the session began: changing it ends every session at once.
    epoch: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(String(32), default="")


class UserMfa(db.Model):
    """A user's TOTP secret (encrypted) and the last time step used (replays are refused)."""
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(EncryptedText)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):
    """Failures per (username, address): a nurse mistyping behind the hospital's shared NAT
    address locks only her own name there, not her colleagues'."""
    __table_args__ = (UniqueConstraint("username", "ip"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditAnchor(db.Model):
    """Left by each retention purge: the chain restarts from `last_hash` after `through_id`."""
    id: Mapped[int] = mapped_column(primary_key=True)
    through_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    purged: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # HMAC under the audit key (never in the database): an inserted or edited anchor is detected.
    mac: Mapped[str] = mapped_column(String(64), default="", server_default="")
