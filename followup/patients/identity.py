"""Setting a patient's personal data: phones encrypted with a blind index and a mask, ID numbers
kept only as keyed hash and mask, and pinyin initials of the name for search."""
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from ..core.access import mask_id_number, mask_phone
from ..core.crypto import Keys, keys as app_keys
from ..models import Patient

# Surnames pypinyin reads with their common-word sound (曾小明 → c-x-m); override the first char.
SURNAME_INITIALS = {"单": "s", "曾": "z", "区": "o", "仇": "q", "解": "x", "朴": "p", "查": "z",
                    "盖": "g", "尉": "y", "乐": "y", "缪": "m", "万俟": "mq"}


@lru_cache(maxsize=100_000)  # names repeat; pypinyin takes about 20 µs a name
def name_initials(name: str) -> str:
    if not name:
        return ""
    for surname, initials in SURNAME_INITIALS.items():
        if name.startswith(surname):
            rest = name[len(surname):]
            return initials + "".join(lazy_pinyin(rest, style=Style.FIRST_LETTER)).lower()
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


def set_name(patient: Patient, name: str) -> None:
    patient.name = name
    patient.name_initials = name_initials(name)[:32]


def set_phones(patient: Patient, numbers_e164: list[str], keys: Keys | None = None) -> None:
    """The first number is the primary one (called first); the rest are kept for retries."""
    primary = numbers_e164[0] if numbers_e164 else None
    patient.phone = primary
    patient.phone_hash = (keys or app_keys()).blind_index(primary) if primary else None
    patient.phone_masked = mask_phone(primary) if primary else None
    patient.other_phones = ",".join(numbers_e164[1:]) or None


def set_id_number(patient: Patient, id_number: str | None, id_type: str = "resident",
                  keys: Keys | None = None) -> None:
    """The number itself is never stored: a keyed hash matches it, a mask displays it."""
    id_number = (id_number or "").strip().upper() or None
    patient.id_type = id_type
    patient.id_number_hash = (keys or app_keys()).blind_index(f"{id_type}:{id_number}") if id_number else None
    patient.id_number_masked = mask_id_number(id_number) if id_number else None
