"""Normalising single cell values: phone numbers, resident ID numbers, dates, codes.

Each function returns the clean value or raises ValueError with a reason a hospital clerk can
act on. The reasons are English msgids; the UI translates them."""
import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum.cn import ric

from .errors import N_

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

def _nfkc(text: str) -> str:
    """NFKC (full-width digits and punctuation → ASCII); ASCII text is its own NFKC form."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


# --- phone numbers --------------------------------------------------------------------------

# Separators between several numbers in one cell. Single spaces stay: "138 0013 8000" is one number.
_PHONE_SPLIT = re.compile(r"[,;/、|\n]+|\s{2,}")
# What a phone number may contain before phonenumbers sees it. phonenumbers silently drops
# trailing junk ("+8613800138000x" parses as valid), so letters are refused here first.
_PHONE_CHARS = re.compile(r"^[0-9+\-() .]+$")
_PATIENT_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


_PLAIN_MOBILE = re.compile(r"^1\d{10}$")
_PLAIN_LANDLINE = re.compile(r"^0([1-9]\d{1,2})-?(\d{6,8})$")
_valid_prefixes: set[tuple[str, int]] = set()


# A landline's extension after the number: 010-12345678-123, …转123, … ext 5, … 分机 12, … x12.
_EXTENSION = re.compile(r"^(?P<base>.*\d)\s*(?:-|转|分机|ext\.?|x|#)\s*(?P<ext>\d{1,6})$", re.IGNORECASE)
EXTENSION_SEP = ";ext="  # RFC 3966: the stored number stays a valid tel: URI


def normalise_phone(raw: str) -> str:
    """One number → E.164. Mobiles, landlines with area code, +86/0086 forms, full-width digits.
    A landline's extension is kept for the caller: +861012345678;ext=123."""
    text = _nfkc(raw).strip()
    m = _EXTENSION.match(text)
    if m and not _PLAIN_LANDLINE.match(text) and not _PLAIN_MOBILE.match(text):
        try:
            return _normalise_one(text)  # 0531-8888-8888 is one number, not number and extension
        except ValueError as whole_error:
            try:
                base = _normalise_one(m["base"].strip())
            except ValueError:
                raise whole_error from None
        if phonenumbers.number_type(phonenumbers.parse(base)) != PhoneNumberType.FIXED_LINE:
            raise ValueError(N_("only a landline has an extension"))
        return base + EXTENSION_SEP + m["ext"]
    return _normalise_one(text)


def _normalise_one(text: str) -> str:
    # Speed: phonenumbers finds a CN number valid by its leading digits and its length (its
    # patterns leave the last four digits free), so for the two forms HIS exports nearly always
    # use, a plain mobile and 0AAA-NNNNNNN, a valid verdict is cached per (all but the last 4
    # digits, length): a 1M-row import would otherwise parse a million times. Anything else,
    # and every number not known valid, is parsed in full, so errors keep their exact reasons.
    # A test holds the cache to phonenumbers' own verdicts.
    if _PLAIN_MOBILE.match(text):
        digits = text
    elif m := _PLAIN_LANDLINE.match(text):
        digits = "0" + m[1] + m[2]
    else:
        return _parse_phone(text)
    key = (digits[:-4], len(digits))
    if key not in _valid_prefixes:
        e164 = _parse_phone(digits)  # raises for an invalid number
        if len(_valid_prefixes) > 200_000:  # bounded: at most a few tens of MB
            _valid_prefixes.clear()
        _valid_prefixes.add(key)
        return e164
    return "+86" + digits.removeprefix("0")


def _parse_phone(text: str) -> str:
    if not _PHONE_CHARS.match(text):
        raise ValueError(N_("contains characters that are not part of a phone number"))
    try:
        num = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValueError(N_("not a phone number")) from None
    if not phonenumbers.is_valid_number(num):
        raise ValueError(N_("not a valid phone number (landlines need their area code)"))
    kind = phonenumbers.number_type(num)
    if kind in (PhoneNumberType.SHARED_COST, PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE):
        raise ValueError(N_("a 400/800 service number, not a patient's phone"))
    if kind not in _PATIENT_TYPES:
        raise ValueError(N_("not a mobile or landline number"))
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def normalise_phones(cell: str) -> tuple[list[str], list[str]]:
    """All numbers in a cell → (valid E.164 numbers without repeats, reasons for the bad ones)."""
    good, bad = [], []
    for part in _PHONE_SPLIT.split(_nfkc(cell or "")):
        part = part.strip()
        if not part:
            continue
        try:
            e164 = normalise_phone(part)
        except ValueError as exc:
            bad.append(f"{part}: {exc}")
            continue
        if e164 not in good:
            good.append(e164)
    return good, bad


# --- ID numbers -----------------------------------------------------------------------------

ID_TYPES = {
    "resident": ("1", "01", "居民身份证", "身份证", "resident", "id card", "ric"),
    "hk_mo_permit": ("港澳居民来往内地通行证", "回乡证", "港澳居民居住证", "hk_mo_permit"),
    "tw_permit": ("台湾居民来往大陆通行证", "台胞证", "台湾居民居住证", "tw_permit"),
    "passport": ("护照", "passport"),
    "foreign_permanent": ("外国人永久居留身份证", "foreign_permanent"),
    "other": ("其他", "other", "9", "99"),
}
_ID_TYPE_LOOKUP = {alias.lower(): key for key, aliases in ID_TYPES.items() for alias in aliases}
_OTHER_ID = re.compile(r"^[A-Z0-9\-()]{5,32}$")


def normalise_id_type(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if not text:
        return "resident"
    try:
        return _ID_TYPE_LOOKUP[text]
    except KeyError:
        raise ValueError(N_("unknown ID document type")) from None


def normalise_resident_id(raw: str) -> str:
    """A resident ID number (GB 11643) → its 18-character form.

    15-digit numbers (issued before 1999) are accepted and upgraded the standard way: insert
    "19" before the 2-digit birth year and compute the check digit. The same person then
    matches across old and new records. An unknown region code is not an error: codes change."""
    text = _nfkc(raw).strip().upper().replace(" ", "")
    if len(text) == 15 and text.isdigit():
        body = text[:6] + "19" + text[6:]
        text = body + ric.calc_check_digit(body + "0")
    if len(text) != 18 or not text[:17].isdigit():
        raise ValueError(N_("a resident ID number has 18 characters (or 15 digits for old cards)"))
    if text[17] != ric.calc_check_digit(text):
        raise ValueError(N_("check digit does not match (GB 11643)"))
    try:
        born = _birth_date(text)
    except ValueError:
        raise ValueError(N_("the birth date inside the ID number is not a real date")) from None
    if born > date.today():
        raise ValueError(N_("the birth date inside the ID number is in the future"))
    return text


def normalise_other_id(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip().upper().replace(" ", "")
    if not _OTHER_ID.match(text):
        raise ValueError(N_("a document number has 5–32 letters and digits"))
    return text


def resident_id_facts(number: str) -> tuple[date, str]:
    """(birth date, sex code 1/2) encoded in an 18-character resident ID number."""
    return _birth_date(number), "1" if int(number[16]) % 2 else "2"


def _birth_date(number: str) -> date:
    """Digits 7–14 of a normalised 18-character number (what stdnum's get_birth_date reads,
    without its character cleaning, which costs more than the rest of the check)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


# --- dates ----------------------------------------------------------------------------------

_DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?=$|\s|T|\d{4,6}$)"),
]
_TIME = re.compile(r"^[T\s]*(?P<H>\d{1,2})[:时](?P<M>\d{2})(?:[:分](?P<S>\d{2})(?:\.\d+)?)?秒?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$")
_COMPACT_TIME = re.compile(r"^(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?$")
_AMBIGUOUS = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def parse_datetime(raw, *, date_only: bool = False):
    """HIS date/time text → date (date_only) or aware datetime (naive means Asia/Shanghai).

    Accepted: 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, each optionally followed by
    a time (10:30, 10:30:15, 103015, ISO 'T' with Z or +08:00); datetime objects from Excel.
    Refused: day/month orders (01/02/2024 is 1 Feb or 2 Jan?) and Excel serial numbers."""
    if isinstance(raw, datetime):
        value = raw if raw.tzinfo else raw.replace(tzinfo=LOCAL_TZ)
        return value.astimezone(LOCAL_TZ).date() if date_only else value
    if isinstance(raw, date):
        return raw if date_only else datetime.combine(raw, time.min, LOCAL_TZ)
    text = _nfkc(str(raw)).strip()
    if _AMBIGUOUS.match(text):
        raise ValueError(N_("ambiguous date order; write year first, e.g. 2024-01-05"))
    if text.isdigit() and len(text) <= 5:
        raise ValueError(N_("looks like an Excel serial number; export dates as text"))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            break
    else:
        raise ValueError(N_("not a date (use e.g. 2024-01-05)"))
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        raise ValueError(N_("no such calendar date")) from None
    rest = text[m.end():]
    if date_only:
        if rest.strip() and not _TIME.match(rest) and not _COMPACT_TIME.match(rest.strip()):
            raise ValueError(N_("unexpected text after the date"))
        return day
    if not rest.strip():
        return datetime.combine(day, time.min, LOCAL_TZ)
    t = _TIME.match(rest) or _COMPACT_TIME.match(rest.strip())
    if not t:
        raise ValueError(N_("unreadable time after the date"))
    try:
        clock = time(int(t["H"]), int(t["M"]), int(t["S"] or 0))
    except ValueError:
        raise ValueError(N_("no such time of day")) from None
    tz = LOCAL_TZ
    zone = t.groupdict().get("tz")
    if zone:
        if zone == "Z":
            tz = timezone.utc
        else:
            sign = 1 if zone[0] == "+" else -1
            hh, mm = int(zone[1:3]), int(zone[-2:])
            tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    return datetime.combine(day, clock, tz)


# --- codes ----------------------------------------------------------------------------------

SEX_ALIASES = {"1": "1", "男": "1", "m": "1", "male": "1", "2": "2", "女": "2", "f": "2",
               "female": "2", "0": "0", "未知": "0", "unknown": "0", "9": "9", "未说明": "9"}

# 离院方式, by code or by the label HIS systems print.
DISPOSITION_ALIASES = {"1": "1", "医嘱离院": "1", "2": "2", "医嘱转院": "2", "3": "3",
                       "医嘱转社区卫生服务机构/乡镇卫生院": "3", "医嘱转社区": "3", "4": "4",
                       "非医嘱离院": "4", "5": "5", "死亡": "5", "9": "9", "其他": "9"}


# HL7 v2 table 0112 (PV1-36 discharge disposition) → 离院方式. Every "expired" code is 5 (死亡);
# single digits are not 0112 codes and are read as 离院方式 codes themselves.
HL7_0112 = {"01": "1", "02": "2", "03": "3", "04": "3", "05": "2", "06": "3", "07": "4", "08": "1", "09": "9",
            **{str(n): "9" for n in range(10, 20)}, "20": "5", **{str(n): "5" for n in range(21, 30)},
            **{str(n): "9" for n in range(30, 40)}, "40": "5", "41": "5", "42": "5"}

UNKNOWN_SEX = N_("unknown sex code")
UNKNOWN_DISPOSITION = N_("unknown disposition (离院方式) code")


def normalise_code(raw: str, aliases: dict, reason: str) -> str:
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    try:
        return aliases[text]
    except KeyError:
        raise ValueError(reason) from None
