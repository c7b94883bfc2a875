"""Staff accounts: one role each, and the scope (wards, hospital or region) the role applies to."""
import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import db
from .org import Hospital, Region, Ward
from .types import UTCDateTime


class Role(StrEnum):
    NURSE = "nurse"                    # 随访护士: ward-level calls for her wards
    CENTRE_STAFF = "centre_staff"      # 随访中心: hospital-level calls for a hospital
    QA = "qa"                          # 质控: monthly summary and rectification ledger
    HOSPITAL_ADMIN = "hospital_admin"  # imports, scripts, wards of a hospital
    DEPT_RESPONDER = "dept_responder"  # answers rectification items of its departments
    COUNTY_AUDITOR = "county_auditor"  # 县卫健局: samples and figures of a county
    CITY_AUDITOR = "city_auditor"      # 市卫健委: samples and figures of a city
    SYS_ADMIN = "sys_admin"            # organisations and accounts; never patient data
    SECURITY_ADMIN = "security_admin"  # security policy
    AUDIT_ADMIN = "audit_admin"        # reads the audit log, nothing else

    @property
    def scope_kind(self) -> str:
        return ROLE_SCOPE[self]


# What each role's scope is attached to.
ROLE_SCOPE = {
    Role.NURSE: "wards",
    Role.DEPT_RESPONDER: "wards",
    Role.CENTRE_STAFF: "hospital",
    Role.QA: "hospital",
    Role.HOSPITAL_ADMIN: "hospital",
    Role.COUNTY_AUDITOR: "county",
    Role.CITY_AUDITOR: "city",
    Role.SYS_ADMIN: "none",
    Role.SECURITY_ADMIN: "none",
    Role.AUDIT_ADMIN: "none",
}

user_wards = Table(
    "user_ward",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_id", Integer, ForeignKey("ward.id", ondelete="CASCADE"), primary_key=True),
)


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospital.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Head nurse (护士长) or centre lead: may assign queue tasks to named callers.
    is_head_nurse: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Changing the token ends every session of the user (logout everywhere, disable, role change).
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for a max-age policy
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hospital: Mapped[Hospital | None] = relationship()
    region: Mapped[Region | None] = relationship()
    wards: Mapped[list[Ward]] = relationship(secondary=user_wards)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def revoke_sessions(self) -> None:
        self.session_token = new_session_token()

    @property
    def ward_ids(self) -> list[int]:
        return [w.id for w in self.wards]
