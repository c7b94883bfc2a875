"""Patient-level facts that stop calls (a death, a do-not-call wish) and the blind index of every
phone number of a patient (search and do-not-call lists match numbers without decrypting)."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..extensions import db
from .types import UTCDateTime


class MarkKind(StrEnum):
    DECEASED = "deceased"         # 患者已故: no call to this person in any hospital (ID-number hash)
    DO_NOT_CALL = "do_not_call"   # 拒绝所有随访 / the hospital's do-not-call list: this hospital


class MarkSource(StrEnum):
    CALL = "call"   # recorded on a call
    LIST = "list"   # imported from a do-not-call list


_ACTIVE = {"postgresql_where": text("lifted_at IS NULL"), "sqlite_where": text("lifted_at IS NULL")}


class PatientMark(db.Model):
    """One mark, matched to patients by their row, their ID-number hash or a phone's blind index.
    Lifting (or undoing) keeps the row: who lifted it, when and why."""

    __table_args__ = (
        Index("ix_patient_mark_patient", "patient_id", **_ACTIVE),
        Index("ix_patient_mark_id_hash", "id_number_hash", **_ACTIVE),
        Index("ix_patient_mark_hospital", "hospital_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8), default=MarkSource.CALL)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    shown_as: Mapped[str] = mapped_column(String(64), default="")  # masked name/number for the list page
    reason: Mapped[str] = mapped_column(Text, default="")
    # The dial that found it (no FK: call_attempt → followup_task → this table would be a cycle).
    attempt_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class PatientPhone(db.Model):
    """A keyed blind index of each of a patient's numbers (primary and others), and its last four
    digits (searched together with a name). Written at import and when numbers change."""

    __table_args__ = (
        Index("ix_patient_phone_lookup", "hospital_id", "phone_hash"),
        Index("ix_patient_phone_last4", "hospital_id", "last4"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hospital_id: Mapped[int] = mapped_column(Integer)
    last4: Mapped[str] = mapped_column(String(4))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = primary
