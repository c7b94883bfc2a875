"""Organisations: the city and its counties (regions), hospitals, and their wards/departments."""
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

REGION_LEVELS = ("city", "county")


class WardKind(StrEnum):
    CLINICAL = "clinical"      # discharges patients: has tasks, queues, imports and rates
    FUNCTIONAL = "functional"  # 职能科室 (收费处, 医务科, 后勤 ...): only answers opinions and ledger items


class Region(db.Model):
    """A city (市) or a county/district (县/市/区) inside it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # GB/T 2260 code, e.g. 371500
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(8))  # "city" | "county"
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))

    parent: Mapped["Region | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Region"]] = relationship(back_populates="parent")
    hospitals: Mapped[list["Hospital"]] = relationship(back_populates="region")

    @property
    def city(self) -> "Region":
        return self if self.level == "city" else self.parent


class Hospital(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    grade: Mapped[str] = mapped_column(String(16), default="")  # e.g. 三级甲等
    # A county hospital belongs to its county; a 市直 hospital belongs directly to the city.
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    # Import setting: create wards that an export names but we do not know, or reject the row.
    create_unknown_wards: Mapped[bool] = mapped_column(Boolean, default=False)
    # Call settings of this hospital; NULL = the service default (FOLLOWUP_* in config.py).
    calling_hours: Mapped[str | None] = mapped_column(String(64))   # "08:30-11:30,14:00-20:00"
    retry_minutes: Mapped[int | None] = mapped_column(Integer)
    max_attempts_per_day: Mapped[int | None] = mapped_column(Integer)

    region: Mapped[Region] = relationship(back_populates="hospitals")
    wards: Mapped[list["Ward"]] = relationship(back_populates="hospital", order_by="Ward.name")

    @property
    def is_city_direct(self) -> bool:
        """市直: run directly by the city, part of no county's population."""
        return self.region.level == "city"

    @property
    def county(self) -> Region | None:
        return None if self.is_city_direct else self.region

    @property
    def city(self) -> Region:
        return self.region.city


class Ward(db.Model):
    """A department of one hospital: a clinical ward (出院科室/病区) or a functional department."""

    __table_args__ = (UniqueConstraint("hospital_id", "code"),
                      CheckConstraint("kind IN ('clinical', 'functional')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    # "clinical" wards discharge patients; "functional" departments (收费处, 后勤 ...) only answer
    # rectification items.
    kind: Mapped[str] = mapped_column(String(12), default=WardKind.CLINICAL, server_default="clinical")

    hospital: Mapped[Hospital] = relationship(back_populates="wards")

    @property
    def is_clinical(self) -> bool:
        return self.kind == WardKind.CLINICAL
