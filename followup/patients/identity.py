"""Setting a patient's personal data: phones encrypted with a blind index (of every number) and a
mask, ID numbers kept only as keyed hash and mask, and the name's pinyin (initials and full) for
search."""
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from ..core.access import mask_id_number, mask_phone
from ..core.crypto import Keys, keys as app_keys
from ..imports.values import EXTENSION_SEP
from ..models import Patient
from ..models.outcome import PatientPhone

# Surnames pypinyin reads with their common-word sound (曾小明 → c-x-m); override the first char.
SURNAME_INITIALS = {"单": "s", "曾": "z", "区": "o", "仇": "q", "解": "x", "朴": "p", "查": "z",
                    "盖": "g", "尉": "y", "乐": "y", "缪": "m", "万俟": "mq"}
SURNAME_PINYIN = {"单": "shan", "曾": "zeng", "区": "ou", "仇": "qiu", "解": "xie", "朴": "piao", "查": "zha",
                  "盖": "ge", "尉": "yu", "乐": "yue", "缪": "miao", "万俟": "moqi"}


@lru_cache(maxsize=100_000)  # names repeat; pypinyin takes about 20 µs a name
def name_initials(name: str) -> str:
    if not name:
        return ""
    for surname, initials in SURNAME_INITIALS.items():
        if name.startswith(surname):
            rest = name[len(surname):]
            return initials + "".join(lazy_pinyin(rest, style=Style.FIRST_LETTER)).lower()
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


@lru_cache(maxsize=100_000)
def name_pinyin(name: str) -> str:
    """张林 → zhanglin (toneless, no separators), the surname read as a surname."""
    if not name:
        return ""
    for surname, sound in SURNAME_PINYIN.items():
        if name.startswith(surname):
            return (sound + "".join(lazy_pinyin(name[len(surname):]))).lower()[:96]
    return "".join(lazy_pinyin(name)).lower()[:96]


def set_name(patient: Patient, name: str) -> None:
    patient.name = name
    patient.name_initials = name_initials(name)[:32]
    if isinstance(patient, Patient):  # the import's row staging skips it: its writer indexes in sets
        patient.name_pinyin = name_pinyin(name)


def set_phones(patient: Patient, numbers_e164: list[str], keys: Keys | None = None) -> None:
    """The first number is the primary one (called first); the rest are kept for retries."""
    primary = numbers_e164[0] if numbers_e164 else None
    patient.phone = primary
    patient.phone_hash = (keys or app_keys()).blind_index(primary) if primary else None
    patient.phone_masked = mask_phone(primary) if primary else None
    patient.other_phones = ",".join(numbers_e164[1:]) or None
    if isinstance(patient, Patient):  # as above: the import writer indexes its chunk (search_index.py)
        patient.phone_index = phone_index_rows(patient.hospital_id, numbers_e164, keys or app_keys())


def phone_index_entries(numbers_e164: list[str], index) -> list[tuple[str, str, int]]:
    """(blind index, last four digits, position) of each distinct number, `index` being the keyed
    blind index. A number with an extension is indexed as itself and as its line, which is what
    a caller types (and dials) without the extension; its last four are the line's."""
    out, seen = [], set()
    for position, number in enumerate(numbers_e164):
        line = number.split(EXTENSION_SEP, 1)[0]
        for n in dict.fromkeys((number, line)):
            h = index(n)
            if h not in seen:
                seen.add(h)
                out.append((h, line[-4:], position))
    return out


def phone_index_rows(hospital_id: int, numbers_e164: list[str], keys: Keys) -> list[PatientPhone]:
    """The rows of phone_index_entries (searched by exact number, never decrypted)."""
    return [PatientPhone(hospital_id=hospital_id, phone_hash=h, last4=last4, position=position)
            for h, last4, position in phone_index_entries(numbers_e164, keys.blind_index)]


def set_id_number(patient: Patient, id_number: str | None, id_type: str = "resident",
                  keys: Keys | None = None) -> None:
    """The number itself is never stored: a keyed hash matches it, a mask displays it."""
    id_number = (id_number or "").strip().upper() or None
    patient.id_type = id_type
    patient.id_number_hash = (keys or app_keys()).blind_index(f"{id_type}:{id_number}") if id_number else None
    patient.id_number_masked = mask_id_number(id_number) if id_number else None
