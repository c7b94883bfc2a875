"""The second factor: TOTP (RFC 6238, pyotp) enrolled with a QR code drawn here (no network),
a used time step never accepted again, and single-use recovery codes stored as keyed hashes."""
import base64
import hmac
import secrets

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, select

from ..core import audit
from ..core.crypto import blind_index
from ..extensions import db
from ..models import User
from ..models.security import RecoveryCode, UserMfa
from .policy import current_policy
from .sessions import revoke_all

ISSUER = "followup"
STEP_SECONDS = 30
RECOVERY_CODES = 10


def mfa_of(user: User) -> UserMfa | None:
    return db.session.get(UserMfa, user.id)


def has_confirmed_mfa(user: User) -> bool:
    row = mfa_of(user)
    return bool(row and row.confirmed)


def begin_enrolment(user: User) -> UserMfa:
    """A fresh, unconfirmed secret (replacing an unconfirmed one). Flushes."""
    row = mfa_of(user)
    if row is None:
        row = UserMfa(user_id=user.id)
        db.session.add(row)
    row.secret, row.confirmed, row.last_step = pyotp.random_base32(), False, 0
    db.session.flush()
    return row


def provisioning_uri(user: User, row: UserMfa) -> str:
    return pyotp.TOTP(row.secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI for an <img> (allowed by the CSP; no inline markup)."""
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return "data:image/svg+xml;base64," + base64.b64encode(img.to_string()).decode()


def enrolment_page(user: User, row: UserMfa) -> dict:
    """What the enrolment page shows: the QR code of the provisioning URI, and the secret for
    authenticator apps that cannot scan."""
    return {"qr": qr_data_uri(provisioning_uri(user, row)), "secret": row.secret, "username": user.username}


def verify_totp(user: User, code: str, *, now) -> bool:
    """Accept a code of the current step or one step either side (clock drift), but only a
    step later than the last one used: a code seen once, by anyone, is spent (ASVS 6.5.1)."""
    row = mfa_of(user)
    code = (code or "").strip().replace(" ", "")
    if row is None or not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(row.secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if step > row.last_step and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            row.last_step = step
            db.session.flush()
            return True
    return False


def confirm_enrolment(user: User, code: str, *, now) -> list[str] | None:
    """Confirm with a first code; returns the recovery codes to show once, or None."""
    row = mfa_of(user)
    if row is None or not verify_totp(user, code, now=now):
        return None
    row.confirmed = True
    codes = new_recovery_codes(user)
    audit.record("auth.mfa_enrolled", user=user, object_type="user", object_id=user.id, now=now)
    return codes


def _code_hash(code: str) -> str:
    return blind_index("recovery:" + code.strip().lower().replace("-", "").replace(" ", ""))


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; only their keyed hashes are kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(raw)))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str, *, now) -> bool:
    if not code or len(code) > 32:
        return False
    row = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
        RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = now
    db.session.flush()
    return True


def reset_mfa(user: User, *, now) -> None:
    """The security admin's reset for a lost phone: the second factor and recovery codes go, every
    session of the user ends, and the user enrols again at the next sign-in. Audited."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(UserMfa).where(UserMfa.user_id == user.id))
    revoke_all(user, now=now, reason="mfa_reset")
    audit.record("auth.mfa_reset", object_type="user", object_id=user.id, now=now)


def second_factor_page() -> dict:
    """The security admin's list: every account, which have a confirmed second factor, and which
    roles the policy requires one of."""
    return {"users": db.session.scalars(select(User).order_by(User.role, User.username)).all(),
            "enrolled": set(db.session.scalars(select(UserMfa.user_id).where(UserMfa.confirmed.is_(True)))),
            "required": set(current_policy().mfa_roles)}
