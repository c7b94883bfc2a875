"""The discharge row schema: one mapped row (raw text per field) → a clean record, or a list of
(field, reason) problems. Every input path (CSV, xlsx, HL7, FHIR) ends here."""
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from . import values as v
from .errors import N_

MAX_TEXT = {"inpatient_no": 32, "name": 64, "ward": 64, "diagnosis_code": 16, "diagnosis_name": 128,
            "attending_doctor": 64, "medicines": 4000, "rehab_instructions": 4000}


class Normalised(fields.Field):
    """A text cell passed through one of the `values` normalisers; ValueError → field error."""

    def __init__(self, fn, **kwargs):
        super().__init__(**kwargs)
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
    """Several numbers in one cell; bad ones are dropped if at least one good one remains."""

    def _deserialize(self, value, attr, data, **kwargs):
        good, bad = v.normalise_phones(value or "")
        if not good:
            raise ValidationError("; ".join(bad) if bad else N_("required"))
        return good


def _text(name, required=False):
    return fields.Str(required=required, load_default="", validate=validate.Length(max=MAX_TEXT[name]))


class DischargeRowSchema(Schema):
    class Meta:
        unknown = RAISE

    inpatient_no = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_TEXT["inpatient_no"]))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_TEXT["name"]))
    sex = Normalised(lambda s: v.normalise_code(s, v.SEX_ALIASES, "sex"), load_default=None)
    birth_date = Normalised(lambda s: v.parse_datetime(s, date_only=True), load_default=None)
    id_type = Normalised(v.normalise_id_type, load_default=None)
    id_number = fields.Str(load_default="")
    phone = Phones(required=True)
    admission_date = Normalised(lambda s: v.parse_datetime(s, date_only=True), load_default=None)
    discharge_at = Normalised(v.parse_datetime, required=True)
    ward = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_TEXT["ward"]))
    diagnosis_code = _text("diagnosis_code")
    diagnosis_name = _text("diagnosis_name")
    disposition = Normalised(lambda s: v.normalise_code(s, v.DISPOSITION_ALIASES, "disposition (离院方式)"),
                             required=True)
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
        raw_id = (data.get("id_number") or "").strip()
        if raw_id:
            id_type = data.get("id_type") or "resident"
            try:
                if id_type == "resident":
                    number = v.normalise_resident_id(raw_id)
                    id_born, id_sex = v.resident_id_facts(number)
                    if born and born != id_born:
                        errors["id_number"] = [N_("birth date differs from the one inside the ID number")]
                    elif data.get("sex") in ("1", "2") and data["sex"] != id_sex:
                        errors["id_number"] = [N_("sex differs from the one the ID number encodes")]
                else:
                    number = v.normalise_other_id(raw_id)
                data["id_number"] = number
            except ValueError as exc:
                errors["id_number"] = [str(exc)]
        if errors:
            raise ValidationError(errors)


# C0 control characters (NUL included, which PostgreSQL text refuses) other than tab and newline.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))


def load_row(schema: DischargeRowSchema, record: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """(clean record, []) or (None, [(field, reason), ...]). Control characters are dropped."""
    try:
        clean = schema.load({k: x.translate(_CONTROL) if isinstance(x, str) else x for k, x in record.items()})
    except ValidationError as exc:
        return None, _flatten(exc.messages)
    clean["id_type"] = clean.get("id_type") or "resident"
    clean["sex"] = clean.get("sex") or "0"
    return clean, []


def _flatten(messages) -> list[tuple[str, str]]:
    out = []
    for field, reasons in messages.items():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            out.append((field, str(reason)))
    return out
