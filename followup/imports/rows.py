"""The discharge row schema: one mapped row (raw text per field) → a clean record, or a list of
(field, reason) problems. Every input path (CSV, xlsx, HL7, FHIR) ends here. A malformed ID number
is not a problem of the row: it is set aside (`id_number_raw`, `id_issue`) and the stay kept."""
import re
from datetime import date, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from . import values as v
from .errors import N_, Reason

MAX_TEXT = {"inpatient_no": 32, "name": 64, "ward": 64, "diagnosis_code": 16, "diagnosis_name": 128,
            "attending_doctor": 64, "medicines": 4000, "rehab_instructions": 4000}


REQUIRED = N_("required")
TOO_LONG = N_("too long: at most %(max)s characters")
# marshmallow's own messages, as msgids the catalogue translates ("必填", not "Missing data …").
MESSAGES = {"required": REQUIRED, "null": REQUIRED, "invalid": N_("not text"),
            "validator_failed": N_("invalid value")}


class Text(fields.Str):
    """A text cell: blank is "required" when the field is, longer than `max` is too long."""

    def __init__(self, max_length: int, required: bool = False, **kwargs):
        super().__init__(required=required, error_messages=MESSAGES, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.required and not text.strip():
            raise ValidationError(REQUIRED)
        if len(text) > self.max_length:
            raise ValidationError(Reason(TOO_LONG, max=self.max_length))
        return text


class Normalised(fields.Field):
    """A text cell passed through one of the `values` normalisers; ValueError → field error."""

    def __init__(self, fn, **kwargs):
        super().__init__(error_messages=MESSAGES, **kwargs)
        self.fn = fn

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise ValidationError(N_("required"))
            return None
        try:
            return self.fn(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Phones(fields.Field):
    """Several numbers in one cell; bad ones are dropped. None good: [] (the stay is kept, its
    tasks marked as needing a phone)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return v.normalise_phones(value or "")[0]


class Disposition(fields.Field):
    """离院方式; missing or a code nobody maps: None (the stay is kept, to be confirmed)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return _disposition(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            return None


def _text(name, required=False):
    return Text(MAX_TEXT[name], required=required, load_default="")


class DischargeRowSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": N_("unknown field"), "type": N_("not a row of cells")}

    inpatient_no = Text(MAX_TEXT["inpatient_no"], required=True)
    name = Text(MAX_TEXT["name"], required=True)
    sex = Normalised(lambda s: v.normalise_code(s, v.SEX_ALIASES, v.UNKNOWN_SEX), load_default=None)
    birth_date = Normalised(lambda s: v.parse_datetime(s, date_only=True), load_default=None)
    id_type = Normalised(lambda s: id_type_or_unknown(s), load_default=None)
    id_number = fields.Str(load_default="", error_messages=MESSAGES)
    phone = Phones(load_default=list)
    admission_date = Normalised(lambda s: v.parse_datetime(s, date_only=True), load_default=None)
    discharge_at = Normalised(v.parse_datetime, required=True)
    ward = Text(MAX_TEXT["ward"], required=True)
    diagnosis_code = _text("diagnosis_code")
    diagnosis_name = _text("diagnosis_name")
    disposition = Disposition(load_default=None)
    attending_doctor = _text("attending_doctor")
    medicines = _text("medicines")
    rehab_instructions = _text("rehab_instructions")

    def __init__(self, *, now: datetime, **kwargs):
        super().__init__(**kwargs)
        self.now = now

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data, **kwargs):
        errors = {}
        discharged = data.get("discharge_at")
        admitted = data.get("admission_date")
        born = data.get("birth_date")
        if discharged and discharged > self.now:
            errors["discharge_at"] = [N_("discharge is in the future")]
        if discharged and admitted and admitted > discharged.astimezone(v.LOCAL_TZ).date():
            errors["discharge_at"] = [N_("discharge is before admission")]
        if born and born > self.now.date():
            errors["birth_date"] = [N_("birth date is in the future")]
        number, raw, issue = check_id(data.get("id_number"), data.get("id_type"), born, data.get("sex"))
        data.update(id_number=number, id_number_raw=raw, id_issue=issue)
        if errors:
            if issue:  # rejected for another reason: the clerk corrects both at once
                errors["id_number"] = [issue]
            raise ValidationError(errors)


UNKNOWN_ID_TYPE_REASON = N_("unknown ID document type")
ID_DIFFERS_BIRTH = N_("birth date differs from the one inside the ID number")
ID_DIFFERS_SEX = N_("sex differs from the one the ID number encodes")


UNKNOWN_ID_TYPE = "?"  # a 证件类型 we do not know: the number beside it is set aside, the row kept


def id_type_or_unknown(raw) -> str:
    """The ID document type, or UNKNOWN_ID_TYPE: an unknown type does not lose the stay (issue 17),
    it only makes the number beside it unusable as identity (check_id sets it aside)."""
    try:
        return v.normalise_id_type(raw)
    except ValueError:
        return UNKNOWN_ID_TYPE


def check_id(raw, id_type, born, sex) -> tuple[str, str, str | None]:
    """(number, set-aside raw value, reason): (normalised, "", None) for a good or empty number;
    ("", raw, reason) for a malformed one. A malformed number names nobody for sure, so it is
    set aside (not used as identity) and the stay kept: the row still names a patient and a stay
    (issue 17). The one function for the schema and the fast loader, so they cannot drift."""
    raw = (raw or "").strip()
    if not raw:
        return "", "", None
    if id_type == UNKNOWN_ID_TYPE:
        return "", raw, UNKNOWN_ID_TYPE_REASON
    try:
        if (id_type or "resident") != "resident":
            return v.normalise_other_id(raw), "", None
        number = v.normalise_resident_id(raw)
        id_born, id_sex = v.resident_id_facts(number)
    except ValueError as exc:
        return "", raw, str(exc)
    if born and born != id_born:
        return "", raw, ID_DIFFERS_BIRTH
    if sex in ("1", "2") and sex != id_sex:
        return "", raw, ID_DIFFERS_SEX
    return number, "", None


# C0 control characters (NUL included, which PostgreSQL text refuses) other than tab and newline.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))


def load_row(schema: DischargeRowSchema, record: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """(clean record, []) or (None, [(field, reason), ...]). Control characters are dropped."""
    try:
        clean = schema.load({k: x.translate(_CONTROL) if isinstance(x, str) else x for k, x in record.items()})
    except ValidationError as exc:
        return None, _flatten(exc.messages)
    clean["id_type"] = known_id_type(clean.get("id_type"))
    clean["sex"] = clean.get("sex") or "0"
    clean["needs_data"] = needs_data(clean["phone"], clean["disposition"])
    return clean, []


def known_id_type(id_type: str | None) -> str:
    """What the stay stores: an unknown or missing type reads as the default (its number, if any,
    was set aside by check_id)."""
    return "resident" if id_type in (None, "", UNKNOWN_ID_TYPE) else id_type


def needs_data(phones: list, disposition: str | None) -> str | None:
    """What the ward must complete before the stay can be called (FollowupTask.needs_data)."""
    return ",".join(n for n, missing in (("phone", not phones), ("disposition", disposition is None))
                    if missing) or None


def _flatten(messages) -> list[tuple[str, str]]:
    out = []
    for field, reasons in messages.items():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            out.append((field, reason if isinstance(reason, str) else str(reason)))
    return out


# --- the fast path for bulk files -------------------------------------------------------------

_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f]")
_TEXT_LIMITS = tuple(MAX_TEXT.items())
_REQUIRED_TEXT = ("inpatient_no", "name", "ward")
_OPTIONAL_TEXT = ("diagnosis_code", "diagnosis_name", "attending_doctor", "medicines", "rehab_instructions")
_FIELDS = frozenset(DischargeRowSchema._declared_fields)
_MISS = object()


class FastRowLoader:
    """`load_row` for the rows that need nothing but the happy path, without marshmallow's
    per-field machinery (about 110 µs a row, more than the whole per-row budget of a bulk file).

    `load(record)` returns exactly what `load_row(DischargeRowSchema(now), record)` returns for
    the clean record, or None when the row is anything but plainly clean; the caller then runs
    the schema, which alone writes every rejection reason. A differential test holds the two to
    the same result. The normalisers are the same functions; their verdicts on repeated cell
    values (dates, codes, ward names) are cached, as the values repeat thousands of times."""

    def __init__(self, now: datetime, cache_size: int = 100_000):
        self.now = now
        self.today = now.date()
        self.cache_size = cache_size
        self._dates: dict = {}
        self._datetimes: dict = {}
        self._sexes: dict = {}
        self._dispositions: dict = {}
        self._id_types: dict = {}

    def _cached(self, cache: dict, key, fn):
        value = cache.get(key, _MISS)
        if value is _MISS:
            if len(cache) >= self.cache_size:
                cache.clear()
            try:
                value = fn(key)
            except ValueError:
                value = None  # an error: the schema will say which
            cache[key] = value
        return value

    def _optional(self, record, field, cache, fn):
        """A Normalised field that may be missing or blank (→ None); _MISS when it is invalid."""
        raw = record.get(field)
        if raw is None:
            return None
        if isinstance(raw, str):
            if not raw.strip():
                return None
        elif not isinstance(raw, date):  # Excel's dates and datetimes are read as they are
            return _MISS
        value = self._cached(cache, raw, fn)
        return _MISS if value is None else value

    def load(self, record: dict) -> dict | None:
        if not _FIELDS.issuperset(record):
            return None
        for field in _REQUIRED_TEXT:
            value = record.get(field)
            if not isinstance(value, str) or not value or value.isspace():
                return None
        clean = {}
        for field, limit in _TEXT_LIMITS:
            value = record.get(field, "")
            if not isinstance(value, str) or len(value) > limit or _CONTROL_RE.search(value):
                return None
            clean[field] = value
        raw_at = record.get("discharge_at")
        if not (isinstance(raw_at, date) or isinstance(raw_at, str) and raw_at.strip()):
            return None
        at = self._cached(self._datetimes, raw_at, v.parse_datetime)
        disposition = self._optional(record, "disposition", self._dispositions, _disposition)
        sex = self._optional(record, "sex", self._sexes, _sex)
        id_type = self._optional(record, "id_type", self._id_types, id_type_or_unknown)
        birth = self._optional(record, "birth_date", self._dates, _date_only)
        admitted = self._optional(record, "admission_date", self._dates, _date_only)
        if at is None or disposition in (None, _MISS) or _MISS in (sex, id_type, birth, admitted):
            return None
        phone_cell = record.get("phone")
        id_raw = record.get("id_number", "")
        if not isinstance(phone_cell, str) or not isinstance(id_raw, str) or _CONTROL_RE.search(phone_cell) \
                or _CONTROL_RE.search(id_raw):
            return None
        phones, _bad = v.normalise_phones(phone_cell)
        if not phones:
            return None
        if at > self.now or (admitted and admitted > at.astimezone(v.LOCAL_TZ).date()) \
                or (birth and birth > self.today):
            return None
        id_number, id_set_aside, id_issue = check_id(id_raw, id_type, birth, sex)
        clean.update(sex=sex or "0", birth_date=birth, id_type=known_id_type(id_type), id_number=id_number,
                     phone=phones, admission_date=admitted, discharge_at=at, disposition=disposition,
                     id_number_raw=id_set_aside, id_issue=id_issue, needs_data=None)
        return clean


def _disposition(s):
    return v.normalise_code(s, v.DISPOSITION_ALIASES, v.UNKNOWN_DISPOSITION)


def _sex(s):
    return v.normalise_code(s, v.SEX_ALIASES, v.UNKNOWN_SEX)


def _date_only(s):
    return v.parse_datetime(s, date_only=True)
