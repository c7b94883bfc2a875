"""The library of fields a plan's form is built from (症状清单, 伤口, 用药依从性, 生命体征, 自由记录,
下次复诊日期), and the schema of one plan's form. Stored answers are {field key: value}."""
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from ..schemas.followup_forms import TEXT_LIMIT, CallFactsIn, MedicineTaken, _Strict, _text

SYMPTOMS = {"none": _l("No symptoms"), "chest_pain": _l("Chest pain or tightness"), "breathless": _l("Shortness of breath"),
            "oedema": _l("Swollen legs or ankles"), "palpitations": _l("Palpitations"),
            "dizziness": _l("Dizziness or fainting"), "fever": _l("Fever"), "cough": _l("Cough"),
            "pain": _l("Pain"), "poor_appetite": _l("Poor appetite or vomiting")}
WOUND_STATES = {"healing": _l("Healing well"), "red_swollen": _l("Red or swollen"),
                "discharge": _l("Oozing or discharge"), "opened": _l("Wound opened"),
                "not_applicable": _l("No wound")}
# (key, label, unit, min, max)
VITALS = (("systolic", _l("Systolic BP"), "mmHg", 50, 260), ("diastolic", _l("Diastolic BP"), "mmHg", 30, 160),
          ("heart_rate", _l("Heart rate"), "/min", 20, 250), ("temperature", _l("Temperature"), "°C", 34, 43),
          ("weight_kg", _l("Weight"), "kg", 2, 300), ("glucose", _l("Blood glucose"), "mmol/L", 1, 40))

# The library, in the order a form shows it: key → label.
FIELDS = {"symptoms": _l("Symptoms checklist"), "wound": _l("Wound"),
          "medication_adherence": _l("Medication adherence"), "vitals": _l("Vital signs"),
          "free_text": _l("Free text"), "next_visit_date": _l("Next clinic visit")}


class SymptomsIn(_Strict):
    present = fields.List(fields.Str(validate=validate.OneOf(list(SYMPTOMS), error="Choose one of the listed values.")),
                          load_default=list)
    text = _text(load_default="")

    @validates_schema
    def _answered(self, data, **_kw):
        present = data.get("present", [])
        if not present and not data.get("text", "").strip():
            raise ValidationError("Tick the symptoms, or No symptoms.", "present")
        if "none" in present and len(present) > 1:
            raise ValidationError("No symptoms cannot go with a symptom.", "present")


class WoundIn(_Strict):
    state = fields.Str(required=True, validate=validate.OneOf(list(WOUND_STATES), error="Choose one of the listed values."))
    text = _text(load_default="")


def _vital(lo, hi):
    return fields.Float(load_default=None, allow_none=True,
                        validate=validate.Range(min=lo, max=hi, error="Out of the plausible range."))


VitalsIn = _Strict.from_dict({k: _vital(lo, hi) for k, _label, _unit, lo, hi in VITALS}, name="VitalsIn")


class FreeTextIn(_Strict):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=TEXT_LIMIT, error="Write down what was said."))


_FIELD_SCHEMAS = {
    "symptoms": lambda: fields.Nested(SymptomsIn, required=True),
    "wound": lambda: fields.Nested(WoundIn, required=True),
    "medication_adherence": lambda: fields.List(fields.Nested(MedicineTaken), load_default=list),
    "vitals": lambda: fields.Nested(VitalsIn, load_default=dict),
    "free_text": lambda: fields.Nested(FreeTextIn, required=True),
    "next_visit_date": lambda: fields.Date(load_default=None, allow_none=True),
}
assert set(_FIELD_SCHEMAS) == set(FIELDS)
MESSAGES = (_l("Out of the plausible range."), _l("Write down what was said."), _l("Tick the symptoms, or No symptoms."),
            _l("No symptoms cannot go with a symptom."))


class _PlanFormBase(CallFactsIn):
    notes = _text(load_default="")

    def __init__(self, *, medicines=(), today=None, **kw):
        super().__init__(**kw)
        self.medicines, self.today = list(medicines), today

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **_kw):
        errors = {}
        if "medication_adherence" in self.declared_fields and "medication_adherence" in data:
            if [m.get("medicine") for m in data["medication_adherence"]] != self.medicines:
                errors["medication_adherence"] = ["Answer for each discharge medicine."]
        visit = data.get("next_visit_date")
        if visit and self.today and visit < self.today:
            errors["next_visit_date"] = ["The next visit cannot be in the past."]
        if errors:
            raise ValidationError(errors)


def plan_form(field_keys, *, medicines=(), today=None):
    """The schema instance of a form made of `field_keys` (a plan's fields; unknown keys are
    refused when the plan is defined)."""
    schema = _PlanFormBase.from_dict({k: _FIELD_SCHEMAS[k]() for k in field_keys}, name="PlanForm")
    return schema(medicines=medicines, today=today)
