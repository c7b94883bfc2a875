"""Keeping the search columns of patients written in sets (imports) in step: the full pinyin of
the name and the blind index of every phone number. Runs in the writer's transaction, after a
chunk is written; decrypts the chunk's numbers once here so that search never has to."""
from sqlalchemy import bindparam, delete, insert, select, tuple_, update

from ..core.crypto import Keys
from ..models import Discharge, Patient
from ..models.outcome import PatientPhone
from .identity import name_pinyin, phone_index_entries


def patients_of_stays(conn, hospital_id: int, stays) -> list[int]:
    """Patient ids of the stays (住院号, discharge date) of one hospital."""
    stays = list(stays)
    out: set[int] = set()
    for i in range(0, len(stays), 1000):
        out.update(conn.execute(select(Discharge.patient_id).where(
            Discharge.hospital_id == hospital_id,
            tuple_(Discharge.inpatient_no, Discharge.discharge_date).in_(stays[i:i + 1000]))).scalars())
    return sorted(out)


def reindex(conn, patient_ids, keys: Keys) -> int:
    """Recompute name_pinyin and the phone index of these patients. Idempotent."""
    ids = list(patient_ids)
    done = 0
    for i in range(0, len(ids), 2000):
        part = ids[i:i + 2000]
        rows = conn.execute(select(Patient.id, Patient.hospital_id, Patient.name, Patient.name_pinyin,
                                   Patient.phone, Patient.other_phones).where(Patient.id.in_(part))).all()
        conn.execute(delete(PatientPhone).where(PatientPhone.patient_id.in_(part)))
        phones, renamed = [], []
        for pid, hid, name, pinyin, phone, others in rows:
            numbers = [n for n in [phone, *(others or "").split(",")] if n]
            phones += [{"patient_id": pid, "hospital_id": hid, "phone_hash": h, "last4": last4, "position": pos}
                       for h, last4, pos in phone_index_entries(numbers, keys.blind_index)]
            if (new := name_pinyin(name)) != pinyin:
                renamed.append((pid, new))
        if phones:
            conn.execute(insert(PatientPhone), phones)
        if renamed:  # one executemany; updated_at kept: the person did not change
            conn.execute(update(Patient).where(Patient.id == bindparam("pid"))
                         .values(name_pinyin=bindparam("py"), updated_at=Patient.updated_at),
                         [{"pid": pid, "py": new} for pid, new in renamed])
        done += len(rows)
    return done


def reindex_stays(conn, hospital_id: int, stays, keys: Keys) -> int:
    """After an import chunk: reindex the patients of its stays."""
    return reindex(conn, patients_of_stays(conn, hospital_id, stays), keys)


def after_import_chunk(hospital_id: int, stays, now, keys: Keys) -> int:
    """The import writer's one call per chunk: index the chunk's patients for search, and close
    any open task of theirs that a do-not-call mark covers through a number indexed only now."""
    from ..extensions import db
    from .outcomes import close_blocked
    conn = db.session.connection()
    ids = patients_of_stays(conn, hospital_id, stays)
    reindex(conn, ids, keys)
    close_blocked(hospital_id, ids, now)
    return len(ids)
