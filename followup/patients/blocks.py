"""Which patients must not be offered a call: the one rule that task creation (imports, plans,
create_tasks) and the do-not-call pages share.

Blocked in a hospital: an active do-not-call mark of that hospital matching the patient (its row,
its ID-number hash, or the blind index of any of its numbers), or an active death mark for the
patient's row or, in any hospital of the service, for the same ID-number hash."""
from sqlalchemy import or_, select, union

from ..extensions import db
from ..models import Patient
from ..models.outcome import MarkKind, PatientMark, PatientPhone


def blocked_patient_ids(hospital_id):
    """A SELECT of the ids of the hospital's patients who are blocked (usable in `.in_()`)."""
    M = PatientMark
    active = M.lifted_at.is_(None)
    by_row = select(M.patient_id).where(active, M.patient_id.is_not(None), M.hospital_id == hospital_id)
    by_id = select(Patient.id).where(Patient.hospital_id == hospital_id, Patient.id_number_hash.in_(
        select(M.id_number_hash).where(active, M.id_number_hash.is_not(None),
                                       or_(M.hospital_id == hospital_id, M.kind == MarkKind.DECEASED))))
    listed = select(M.phone_hash).where(active, M.phone_hash.is_not(None), M.hospital_id == hospital_id)
    by_phone = select(PatientPhone.patient_id).where(PatientPhone.hospital_id == hospital_id,
                                                     PatientPhone.phone_hash.in_(listed))
    # The primary number's index is on the patient row itself, written with the row: it blocks
    # patients an import creates before their full phone index is written (search_index.py).
    by_primary = select(Patient.id).where(Patient.hospital_id == hospital_id, Patient.phone_hash.in_(listed))
    return union(by_row, by_id, by_phone, by_primary)


def blocked_among(hospital_id: int, patient_ids, conn=None) -> set[int]:
    """Which of these patients are blocked (one query; the set is usually empty)."""
    ids = list(patient_ids)
    if not ids:
        return set()
    q = select(Patient.id).where(Patient.id.in_(ids), Patient.id.in_(blocked_patient_ids(hospital_id)))
    return set((conn or db.session).execute(q).scalars())


def is_blocked(patient: Patient) -> bool:
    return bool(blocked_among(patient.hospital_id, [patient.id]))
