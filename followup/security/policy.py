"""The security policy (password rules, lockout, session timeouts, 2FA per role, audit
retention): one row edited by the security administrator, read on every request."""
from flask import current_app, g
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..core import audit
from ..extensions import db
from ..models import Role
from ..models.security import AUDIT_RETENTION_FLOOR_DAYS, SecurityPolicy

POLICY_ID = 1


def default_mfa_roles() -> list[str]:
    raw = current_app.config["MFA_ROLES"].strip()
    if raw == "all":
        return [r.value for r in Role]
    return [r for r in (x.strip() for x in raw.split(",")) if r in {x.value for x in Role}]


def current_policy() -> SecurityPolicy:
    """The saved policy, or the defaults (a transient row) until the security admin saves one.
    Cached for the request: the login path reads it several times. A signed-in request has it
    already: the session check loads it with the user (sessions.load_signed_in)."""
    cached = g.get("_security_policy")
    if cached is not None:
        return cached
    return remember_policy(db.session.get(SecurityPolicy, POLICY_ID))


def remember_policy(saved: SecurityPolicy | None) -> SecurityPolicy:
    """Cache for this request the saved policy row, or the defaults when none is saved."""
    policy = saved
    if policy is None:
        cfg = current_app.config
        policy = SecurityPolicy(id=POLICY_ID, mfa_roles=default_mfa_roles(),
                                lockout_threshold=cfg["LOGIN_MAX_FAILURES"],
                                lockout_minutes=cfg["LOGIN_LOCK_MINUTES"],
                                audit_retention_days=cfg["AUDIT_RETENTION_DAYS"])
        for col in SecurityPolicy.__table__.columns:  # column defaults, without inserting
            if getattr(policy, col.key) is None and col.default is not None and col.default.is_scalar:
                setattr(policy, col.key, col.default.arg)
    g._security_policy = policy
    return policy


class PolicySchema(Schema):
    """The policy form: bounds keep a typo from disabling a control."""
    class Meta:
        unknown = RAISE

    password_min_length = fields.Int(required=True, validate=validate.Range(8, 128))
    password_min_classes = fields.Int(required=True, validate=validate.Range(1, 4))
    password_max_age_days = fields.Int(required=True, validate=validate.Range(0, 365))
    lockout_threshold = fields.Int(required=True, validate=validate.Range(3, 20))
    account_lockout_threshold = fields.Int(required=True, validate=validate.Range(5, 200))
    lockout_minutes = fields.Int(required=True, validate=validate.Range(1, 24 * 60))
    idle_timeout_minutes = fields.Int(required=True, validate=validate.Range(5, 120))
    absolute_timeout_hours = fields.Int(required=True, validate=validate.Range(1, 24))
    mfa_roles = fields.List(fields.Str(validate=validate.OneOf([r.value for r in Role])), load_default=list)
    audit_retention_days = fields.Int(required=True, validate=validate.Range(AUDIT_RETENTION_FLOOR_DAYS, 3650))

    @validates_schema
    def _account_limit_above_pair_limit(self, data, **_):
        if data["account_lockout_threshold"] < data["lockout_threshold"]:
            raise ValidationError("must be at least the per-address threshold", "account_lockout_threshold")


def save_policy(form: dict, *, by, now) -> SecurityPolicy:
    """Validate and store the policy; the change (old → new values) is audited. Flushes."""
    data = PolicySchema().load(form)
    policy = db.session.get(SecurityPolicy, POLICY_ID)
    before = {}
    if policy is None:
        policy = SecurityPolicy(id=POLICY_ID)
        db.session.add(policy)
    else:
        before = {k: getattr(policy, k) for k in data}
    for key, value in data.items():
        setattr(policy, key, sorted(set(value)) if key == "mfa_roles" else value)
    policy.updated_at, policy.updated_by_id = now, by.id
    db.session.flush()
    changed = {k: [before.get(k), getattr(policy, k)] for k in data if before.get(k) != getattr(policy, k)}
    audit.record("security.policy_change", object_type="security_policy", object_id=POLICY_ID,
                 detail={"changed": changed}, now=now)
    g.pop("_security_policy", None)
    return policy


PASSWORD_TOO_SHORT = "at least %(n)s characters"
PASSWORD_TOO_PLAIN = "at least %(n)s of: lower case, upper case, digits, symbols"


def password_problem_reasons(password: str, policy: SecurityPolicy | None = None) -> list[tuple[str, dict]]:
    """(message id, params) for each rule the password breaks; the caller translates."""
    policy = policy or current_policy()
    problems = []
    if len(password) < policy.password_min_length:
        problems.append((PASSWORD_TOO_SHORT, {"n": policy.password_min_length}))
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if classes < policy.password_min_classes:
        problems.append((PASSWORD_TOO_PLAIN, {"n": policy.password_min_classes}))
    return problems


def password_problems(password: str, policy: SecurityPolicy | None = None) -> list[str]:
    """English messages (logs, the CLI) for each rule the password breaks."""
    return [msgid % params for msgid, params in password_problem_reasons(password, policy)]


def password_problem_texts(password: str, policy: SecurityPolicy | None = None) -> list[str]:
    """The same in the reader's language (forms)."""
    from flask_babel import gettext
    return [gettext(msgid, **params) for msgid, params in password_problem_reasons(password, policy)]


def mfa_required(user) -> bool:
    return user.role in current_policy().mfa_roles
