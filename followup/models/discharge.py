"""Patients and their discharge records (出院记录), as a hospital's HIS exports them."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.crypto import EncryptedText
from ..extensions import db
from .org import Hospital, Ward
from .types import UTCDateTime

# 离院方式 (病案首页): the codes and their labels.
DISPOSITIONS = {
    "1": "医嘱离院",
    "2": "医嘱转院",
    "3": "医嘱转社区卫生服务机构/乡镇卫生院",
    "4": "非医嘱离院",
    "5": "死亡",
    "9": "其他",
}
DISPOSITION_DIED = "5"

_ID_ISSUE = "id_number_issue IS NOT NULL"

SEXES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}  # GB/T 2261.1


class Patient(db.Model):
    """A person as one hospital knows them. Phones are encrypted; the ID number is kept only as a
    keyed hash (for matching) and a mask (for display)."""

    # Also serves lookups by hospital alone (migration 0010 dropped the index on hospital_id).
    __table_args__ = (
        Index("ix_patient_hospital_id_hash", "hospital_id", "id_number_hash"),
        # Search (followup/patients/search.py): prefixes of the name, its pinyin initials and
        # full pinyin within a hospital; pattern ops so LIKE 'x%' uses them under any collation.
        *(Index(f"ix_patient_search_{c}", "hospital_id", c, postgresql_ops={c: "varchar_pattern_ops"})
          for c in ("name", "name_initials", "name_pinyin")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    name: Mapped[str] = mapped_column(String(64))
    name_initials: Mapped[str] = mapped_column(String(32), default="")  # pinyin initials, for search
    name_pinyin: Mapped[str] = mapped_column(String(96), default="")  # full pinyin "zhanglin", for search
    sex: Mapped[str] = mapped_column(String(1), default="0")
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_type: Mapped[str] = mapped_column(String(16), default="resident")
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    id_number_masked: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(EncryptedText)  # primary number, E.164
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    other_phones: Mapped[str | None] = mapped_column(EncryptedText)  # more E.164 numbers, comma-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    hospital: Mapped[Hospital] = relationship()
    # Blind index of every number (followup/patients/identity.py keeps it in step with the phones).
    phone_index: Mapped[list["PatientPhone"]] = relationship(cascade="all, delete-orphan")  # noqa: F821


class Discharge(db.Model):
    """One inpatient stay's discharge; unique per (hospital, 住院号, discharge date)."""

    __table_args__ = (
        UniqueConstraint("hospital_id", "inpatient_no", "discharge_date"),
        # What a task's one foreign key points at: the stay and its hospital (models/task.py).
        UniqueConstraint("id", "hospital_id"),
        # Covers the month's population of a hospital (sampling, summaries) as an index-only scan.
        Index("ix_discharge_population", "hospital_id", "discharge_date", "disposition", "id"),
        # The ward's list of ID numbers to correct (待补资料): partial, so clean stays add nothing.
        Index("ix_discharge_id_number_issue", "ward_id", postgresql_where=text(_ID_ISSUE), sqlite_where=text(_ID_ISSUE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    inpatient_no: Mapped[str] = mapped_column(String(32))  # 住院号
    admission_date: Mapped[date | None] = mapped_column(Date)
    discharge_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discharge_date: Mapped[date] = mapped_column(Date)  # local (Asia/Shanghai) date of discharge_at
    disposition: Mapped[str] = mapped_column(String(1), default="1")  # 离院方式
    diagnosis_code: Mapped[str] = mapped_column(String(16), default="")  # ICD-10
    diagnosis_name: Mapped[str] = mapped_column(String(128), default="")
    attending_doctor: Mapped[str] = mapped_column(String(64), default="")
    medicines: Mapped[str] = mapped_column(Text, default="")  # 出院带药, one per line
    rehab_instructions: Mapped[str] = mapped_column(Text, default="")  # 康复指导
    import_batch_id: Mapped[int | None] = mapped_column()  # the batch that created it (not indexed: never queried by)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # of the imported row, to spot changes
    # A malformed ID number (bad check digit, wrong length, contradicting the row's birth date or
    # sex) is set aside, never used as identity: kept encrypted with the reason (a msgid) until
    # the ward or the hospital corrects it (calls/missing_data.py). The tasks stay callable.
    id_number_raw: Mapped[str | None] = mapped_column(EncryptedText)
    id_number_issue: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    hospital: Mapped[Hospital] = relationship()
    ward: Mapped[Ward] = relationship()
    patient: Mapped[Patient] = relationship()
    tasks: Mapped[list["FollowupTask"]] = relationship(back_populates="discharge")  # noqa: F821

    @property
    def eligible(self) -> bool:
        """Patients who died in hospital are not followed up."""
        return self.disposition != DISPOSITION_DIED

    @property
    def disposition_label(self) -> str:
        return DISPOSITIONS.get(self.disposition, self.disposition)

    @property
    def medicine_list(self) -> list[str]:
        return [m.strip() for m in self.medicines.splitlines() if m.strip()]
