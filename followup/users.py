"""Account operations: create a user with a role and a scope that fits it. Flush, never commit."""
from sqlalchemy import select

from . import audit
from .auth import hash_password
from .extensions import db
from .models import Hospital, Region, Role, User, Ward

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
    kind = role.scope_kind
    if kind in ("hospital", "wards"):
        hospital = db.session.scalar(select(Hospital).where(Hospital.code == (hospital_code or "")))
        if hospital is None:
            raise UserError(f"role {role.value} needs --hospital with a known hospital code")
        user.hospital = hospital
        if kind == "wards":
            wards = db.session.scalars(select(Ward).where(
                Ward.hospital_id == hospital.id, Ward.code.in_(ward_codes))).all()
            if not wards or len(wards) != len(set(ward_codes)):
                raise UserError(f"role {role.value} needs --ward with codes of wards of {hospital.code}")
            user.wards = list(wards)
    elif kind in ("county", "city"):
        region = db.session.scalar(select(Region).where(Region.code == (region_code or ""),
                                                        Region.level == kind))
        if region is None:
            raise UserError(f"role {role.value} needs --region with the code of a {kind}")
        user.region = region
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", object_type="user", object_id=user.id, detail={"role": role.value})
    return user
