"""Finding a patient from one search box: a full or partial Chinese name (its start: 张, 张林), pinyin
initials (zl) or full pinyin (zhanglin, zhangl), any full phone number of the patient in any
format (0635-8273456, (0635)8273456, +86 135 2333 3233, full-width digits; a line with or without its
extension, 0635-8273456 转 123), 住院号/病案号, or the last four digits of a phone with a name or
initials (3970 张林, zl 3970). Within the user's scope only (core/access.py discharge_filter, and the
user's hospital).

Exact numbers go through the keyed blind index of every number (patient_phone); no number is
decrypted to answer a search. Each kind of match is one indexed query with a limit; the results
are the patients' stays in scope, newest first (bench/search.py measures it at 1M patients)."""
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, literal, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from ..core.access import discharge_filter
from ..core.crypto import Keys
from ..extensions import db
from ..imports.values import normalise_phone
from ..models import Discharge, Patient, User
from ..models.outcome import PatientPhone

LIMIT = 20
_CJK = re.compile(r"^[\u3400-\u9fff\u00b7·]+$")
_LETTERS = re.compile(r"^[a-z]+$")
_PHONEISH = re.compile(r"^[0-9+\-() .]{7,24}$")
_PHONEISH_EXTENSION = re.compile(r"^[0-9+\-() .]{7,24}\s*(?:转|分机|ext\.?|x|#)\s*\d{1,6}$", re.IGNORECASE)  # … 转 123
_LAST4 = re.compile(r"^(?P<a>[^\d]*?)\s*(?P<d>\d{4})\s*(?P<b>[^\d]*)$")
_INPATIENT_NO = re.compile(r"^[0-9A-Za-z\-_/]{1,32}$")


@dataclass(frozen=True)
class Terms:
    """What one search text can mean; several may apply (12345678 is a 住院号 and not a phone)."""
    text: str
    phone: str | None = None       # E.164, when the text is one whole number
    inpatient_no: str | None = None
    last4: str | None = None       # with name_part
    name_part: str | None = None   # Chinese characters, or latin letters (lower case)

    @property
    def empty(self) -> bool:
        return not (self.phone or self.inpatient_no or self.name_part)


def parse(text: str) -> Terms:
    t = unicodedata.normalize("NFKC", text or "").strip()[:64]
    if not t:
        return Terms("")
    phone = None
    if _PHONEISH.match(t) or _PHONEISH_EXTENSION.match(t):
        try:
            phone = normalise_phone(t)
        except ValueError:
            phone = None
    inpatient_no = t.upper() if _INPATIENT_NO.match(t) else None
    last4 = name_part = None
    if (m := _LAST4.match(t)) and (m["a"].strip() or m["b"].strip()):
        last4, name_part = m["d"], _name_part((m["a"] + m["b"]).strip())
        if name_part is None:
            last4 = None
    elif not any(ch.isdigit() for ch in t):
        name_part = _name_part(t)
    return Terms(t, phone, inpatient_no, last4, name_part)


def _name_part(text: str) -> str | None:
    compact = text.replace(" ", "")
    if _CJK.match(compact):
        return compact
    lower = compact.lower()
    return lower if _LETTERS.match(lower) else None


def _name_clause(part: str):
    if _LETTERS.match(part):
        return Patient.name_initials.startswith(part, autoescape=True) | Patient.name_pinyin.startswith(part, autoescape=True)
    return Patient.name.startswith(part, autoescape=True)


def _candidates(terms: Terms, keys: Keys, hospital_id: int):
    """(condition on Patient/Discharge, kind) per kind of match; each is its own query."""
    out = []
    if terms.phone:
        out.append((Patient.id.in_(select(PatientPhone.patient_id).where(
            PatientPhone.hospital_id == hospital_id, PatientPhone.phone_hash == keys.blind_index(terms.phone))), "phone"))
    if terms.inpatient_no:
        out.append((Discharge.inpatient_no == terms.inpatient_no, "inpatient_no"))
    if terms.last4:
        out.append((and_(Patient.id.in_(select(PatientPhone.patient_id).where(
            PatientPhone.hospital_id == hospital_id, PatientPhone.last4 == terms.last4)), _name_clause(terms.name_part)),
            "last4"))
    elif terms.name_part:
        if _LETTERS.match(terms.name_part):
            out.append((Patient.name_initials.startswith(terms.name_part, autoescape=True), "initials"))
            out.append((Patient.name_pinyin.startswith(terms.name_part, autoescape=True), "pinyin"))
        else:
            out.append((Patient.name.startswith(terms.name_part, autoescape=True), "name"))
    return out


def matching_patient_ids(user: User, text: str, keys: Keys, limit: int = LIMIT) -> list[int]:
    """Ids of the patients the text finds among those with a stay in the user's scope."""
    terms = parse(text)
    if terms.empty or not user.hospital_id:
        return []
    # Each kind of match is its own indexed query with its own limit, sent as one statement
    # (UNION ALL): one round trip, however many meanings the text has. No ORDER BY: a prefix (张)
    # may match tens of thousands; the index hands out the first rows and the scan stops.
    parts = [select(Patient.id.label("pid"), literal(n).label("k")).join(Discharge, Discharge.patient_id == Patient.id)
             # Discharge.hospital_id too: a nurse's scope names wards only, and 住院号 is unique per hospital
             .where(Patient.hospital_id == user.hospital_id, Discharge.hospital_id == user.hospital_id,
                    discharge_filter(user), cond).limit(limit * 2).subquery()
             for n, (cond, _kind) in enumerate(_candidates(terms, keys, user.hospital_id))]
    if not parts:
        return []
    rows = db.session.execute(union_all(*(select(p.c.pid, p.c.k) for p in parts))).all()
    found: dict[int, None] = {}
    for pid, _k in sorted(rows, key=lambda r: r[1]):  # exact kinds (phone, 住院号) first
        found.setdefault(pid)
    return list(found)[:limit]


def search(user: User, text: str, keys: Keys, limit: int = LIMIT) -> list[Discharge]:
    """The stays in scope of the patients found, newest first, with patient, ward and tasks."""
    ids = matching_patient_ids(user, text, keys, limit)
    if not ids:
        return []
    return list(db.session.scalars(
        select(Discharge).where(Discharge.patient_id.in_(ids), discharge_filter(user))
        .order_by(Discharge.discharge_date.desc(), Discharge.id.desc()).limit(limit * 3)
        # Numbers stay encrypted (not even loaded): the list shows the stored mask.
        .options(joinedload(Discharge.patient).defer(Patient.phone).defer(Patient.other_phones),
                 joinedload(Discharge.ward), selectinload(Discharge.tasks))).unique())


def patients_by_phone(user: User, e164: str, keys: Keys) -> list[int]:
    """Patients in scope having this exact number (any of theirs), through its blind index."""
    return list(db.session.scalars(
        select(Patient.id).join(Discharge, Discharge.patient_id == Patient.id)
        .where(Patient.hospital_id == user.hospital_id, discharge_filter(user),
               Patient.id.in_(select(PatientPhone.patient_id).where(
                   PatientPhone.hospital_id == user.hospital_id, PatientPhone.phone_hash == keys.blind_index(e164))))
        .distinct().limit(LIMIT)))


def list_clause(user: User, text: str, keys: Keys):
    """For a list of stays (出院记录) filtered by the search box: the stays of the patients found."""
    return Discharge.patient_id.in_(matching_patient_ids(user, text, keys, limit=200) or [-1])
