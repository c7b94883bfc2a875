"""Account operations: create a user with a role and a scope that fits it. Flush, never commit."""
from sqlalchemy import select

from ..core import audit
from .auth import hash_password
from ..extensions import db
from ..models import Hospital, Region, Role, User, Ward
from .policy import password_problem_texts
from .sessions import revoke_all

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    pass


def create_user(username: str, password: str, role: Role, *, display_name=None, hospital_code=None,
                ward_codes=(), region_code=None) -> User:
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise UserError(f"username {username!r} is taken")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password), role=role.value)
    _apply_scope(user, role, hospital_code, ward_codes, region_code)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", object_type="user", object_id=user.id, detail={"role": role.value})
    return user


def register_user(username: str, password: str, role: Role, *, now, display_name=None, **scope) -> User:
    """The system administrator's new account: the initial password must meet the security
    policy (the CLI's create_user asks only for a minimum length), and its age counts from now."""
    _check_policy(password)
    user = create_user(username, password, role, display_name=display_name, **scope)
    user.password_changed_at = now
    return user


def _check_policy(password: str) -> None:
    """The message is for the person typing the password (account page, admin form): translated."""
    from flask_babel import gettext
    problems = password_problem_texts(password)
    if problems:
        raise UserError(gettext("The password needs %(problems)s.", problems="；".join(problems)))


def _apply_scope(user: User, role: Role, hospital_code=None, ward_codes=(), region_code=None) -> None:
    """Give the user the scope the role needs (hospital, wards or region) and nothing else."""
    user.hospital, user.region, user.wards = None, None, []
    kind = role.scope_kind
    if kind in ("hospital", "wards"):
        hospital = db.session.scalar(select(Hospital).where(Hospital.code == (hospital_code or "")))
        if hospital is None:
            raise UserError(f"role {role.value} needs --hospital with a known hospital code")
        user.hospital = hospital
        if kind == "wards":
            q = select(Ward).where(Ward.hospital_id == hospital.id, Ward.code.in_(ward_codes))
            if role == Role.NURSE:  # nurses call patients of clinical wards only
                q = q.where(Ward.kind == "clinical")
            wards = db.session.scalars(q).all()
            if not wards or len(wards) != len(set(ward_codes)):
                raise UserError(f"role {role.value} needs --ward with codes of wards of {hospital.code}")
            user.wards = list(wards)
    elif kind in ("county", "city"):
        region = db.session.scalar(select(Region).where(Region.code == (region_code or ""),
                                                        Region.level == kind))
        if region is None:
            raise UserError(f"role {role.value} needs --region with the code of a {kind}")
        user.region = region


# --- the administrator's user form: scope picked from lists ---------------------------------

def N_(msgid: str) -> str:  # marks a message the page translates
    return msgid


def user_scope_choices() -> tuple[list[Hospital], list[Ward], list[Region]]:
    """What a system administrator may give a user: every hospital, ward and region."""
    hospitals = db.session.scalars(select(Hospital).order_by(Hospital.name)).all()
    wards = db.session.scalars(select(Ward).order_by(Ward.hospital_id, Ward.kind, Ward.name)).all()
    regions = db.session.scalars(select(Region).order_by(Region.level, Region.code)).all()
    return list(hospitals), list(wards), list(regions)


USERS_PAGE = 100


def user_page(page: int, per_page: int = USERS_PAGE) -> tuple[list[User], int, int, int]:
    """(users by role and username, total, page, pages) for the administrator's list."""
    from sqlalchemy import func
    total = db.session.scalar(select(func.count()).select_from(User)) or 0
    pages = max(1, -(-total // per_page))
    page = max(1, min(page or 1, pages))
    rows = db.session.scalars(select(User).order_by(User.role, User.username)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total, page, pages


def username_taken(username: str) -> bool:
    return bool(db.session.scalar(select(User.id).where(User.username == (username or "").strip())))


def scope_problems(role: Role, hospital_id, ward_ids, region_id) -> list[tuple[str, str]]:
    """[(form field, message id)] for what the role's scope lacks; the rules of _apply_scope,
    said field by field before anything is written."""
    kind = role.scope_kind
    if kind in ("hospital", "wards"):
        if db.session.get(Hospital, hospital_id or 0) is None:
            return [("hospital", N_("Choose the hospital."))]
        if kind == "wards":
            wards = db.session.scalars(select(Ward).where(Ward.id.in_(ward_ids or [-1]))).all()
            if not wards:
                return [("wards", N_("Choose at least one ward."))]
            if any(w.hospital_id != hospital_id for w in wards):
                return [("wards", N_("Choose wards of the chosen hospital."))]
            if role == Role.NURSE and any(w.kind != "clinical" for w in wards):
                return [("wards", N_("Nurses call the patients of clinical wards only."))]
    elif kind in ("county", "city"):
        region = db.session.get(Region, region_id or 0)
        if region is None or region.level != kind:
            return [("region", N_("Choose a county.") if kind == "county" else N_("Choose a city."))]
    return []


def scope_codes(role: Role, hospital_id, ward_ids, region_id) -> dict:
    """The picked ids as the codes create_user and change_role take; only what the role needs."""
    kind = role.scope_kind
    hospital = db.session.get(Hospital, hospital_id or 0) if kind in ("hospital", "wards") else None
    wards = db.session.scalars(select(Ward).where(Ward.id.in_(ward_ids or [-1]))).all() if kind == "wards" else []
    region = db.session.get(Region, region_id or 0) if kind in ("county", "city") else None
    return {"hospital_code": hospital.code if hospital else None, "ward_codes": [w.code for w in wards],
            "region_code": region.code if region else None}


# --- changes by the system administrator; each ends the user's sessions where rights change ---

def change_role(user: User, role: Role, *, now, hospital_code=None, ward_codes=(), region_code=None) -> None:
    """New role and scope; every session of the user ends (rights must not linger)."""
    before = user.role
    _apply_scope(user, role, hospital_code, ward_codes, region_code)
    user.role = role.value
    revoke_all(user, now=now, reason="role_change")
    db.session.flush()
    audit.record("user.role_change", object_type="user", object_id=user.id,
                 detail={"from": before, "to": role.value}, now=now)


def set_active(user: User, active: bool, *, now) -> None:
    user.active = active
    if not active:
        revoke_all(user, now=now, reason="disabled")
    audit.record("user.enable" if active else "user.disable", object_type="user", object_id=user.id, now=now)


def revoke_user_sessions(user: User, *, now, reason: str = "admin") -> int:
    n = revoke_all(user, now=now, reason=reason)
    audit.record("user.sessions_revoked", object_type="user", object_id=user.id,
                 detail={"sessions": n, "reason": reason}, now=now)
    return n


def change_password(user: User, new_password: str, *, now) -> None:
    """A password that meets the policy; every existing session ends (the caller signs the
    current browser in again if the user changed it themselves)."""
    _check_policy(new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    revoke_all(user, now=now, reason="password_change")
    audit.record("user.password_change", object_type="user", object_id=user.id, now=now)
