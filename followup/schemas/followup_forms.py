"""Input schemas of the two follow-up forms (科室随访, 院级随访), and the mapping between the
HTML form's flat field names ("guidance.diet.choices") and the nested data the schemas load.

The schemas need facts about the call (its medicines, the hospital's departments): they are
passed to the constructor, since marshmallow 4 has no context."""
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from ..calls.vocabulary import GUIDANCE_CHOICES
from ..core.clock import LOCAL_TZ
from ..models.call import GUIDANCE_AREAS, SATISFACTION_DIMENSIONS, Condition, DurationSource, Outcome, Respondent
from ..models.opinion import Category, Sentiment

MAX_OPINIONS = 20
TEXT_LIMIT = 2000


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _text(**kw):
    return fields.Str(validate=validate.Length(max=TEXT_LIMIT, error="Text is too long."), **kw)


class MedicineTaken(_Strict):
    medicine = fields.Str(required=True, validate=validate.Length(max=256, error="Text is too long."))
    as_prescribed = fields.Bool(required=True, error_messages={"required": "Say whether it is taken as prescribed."})
    note = _text(load_default="")


class GuidanceGiven(_Strict):
    given = fields.Bool(load_default=False)
    choices = fields.List(fields.Str(), load_default=list)
    text = _text(load_default="")

    @post_load
    def _given_when_covered(self, data, **_kw):
        """Ticking what was covered is giving guidance: the area's own box need not be ticked too."""
        data["given"] = data["given"] or bool(data["choices"]) or bool(data["text"].strip())
        return data


def _no_guidance():
    return {"given": False, "choices": [], "text": ""}


# One entry per guidance area (药物使用, 康复锻炼, 生活起居, 健康饮食, 自我保健).
GuidanceSet = _Strict.from_dict(
    {area: fields.Nested(GuidanceGiven, load_default=_no_guidance) for area in GUIDANCE_AREAS}, name="GuidanceSet")


class OpinionIn(_Strict):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=TEXT_LIMIT, error="Text is too long."))
    sentiment = fields.Str(required=True, validate=validate.OneOf([s.value for s in Sentiment],
                                                                  error="Choose one of the listed values."))
    category = fields.Str(required=True, validate=validate.OneOf([c.value for c in Category],
                                                                 error="Choose one of the listed values."))
    ward_id = fields.Int(load_default=None, allow_none=True)

    @validates_schema
    def _complaint_names_department(self, data, **_kw):
        if not data.get("text", "").strip():
            raise ValidationError("Write down what the patient said.", "text")
        if data.get("sentiment") == Sentiment.COMPLAINT and not data.get("ward_id"):
            raise ValidationError("A complaint must name the department concerned.", "ward_id")


MAX_CALL_SECONDS = 4 * 3600


class CallFactsIn(_Strict):
    """Who answered (HCAHPS: only the patient's own answers count in satisfaction figures) and
    how long the call took, as the caller typed it or the phone system reported it (optional)."""
    respondent = fields.Str(load_default=Respondent.PATIENT.value,
                            validate=validate.OneOf([r.value for r in Respondent], error="Choose one of the listed values."),
                            metadata={"description": "who answered: patient (default), family, other"})
    respondent_relation = fields.Str(load_default="", validate=validate.Length(max=32, error="Text is too long."),
                                     metadata={"description": "a family member's relation to the patient (配偶, 女儿, ...)"})
    duration_seconds = fields.Int(load_default=None, allow_none=True,
                                  validate=validate.Range(min=0, max=MAX_CALL_SECONDS, error="Not a valid call duration."),
                                  metadata={"description": "the call's duration in seconds (optional)"})
    duration_source = fields.Str(load_default=None, allow_none=True,
                                 validate=validate.OneOf([d.value for d in DurationSource],
                                                         error="Choose one of the listed values."),
                                 metadata={"description": "caller (typed in, the default) or phone_system"})

    @validates_schema(skip_on_field_errors=False)
    def _facts(self, data, **_kw):
        if data.get("respondent") == Respondent.FAMILY and not data.get("respondent_relation", "").strip():
            raise ValidationError("Say how the family member is related to the patient.", "respondent_relation")

    @post_load
    def _source(self, data, **_kw):
        if data.get("duration_seconds") is None:
            data["duration_source"] = None
        elif data.get("duration_source") is None:
            data["duration_source"] = DurationSource.CALLER.value
        if data.get("respondent") != Respondent.FAMILY:
            data["respondent_relation"] = data.get("respondent_relation", "").strip()
        return data


class _FollowupForm(CallFactsIn):
    """What both forms share: the patient's opinions, free notes, the departments they may name,
    who answered and the call's duration."""
    opinions = fields.List(fields.Nested(OpinionIn), load_default=list,
                           validate=validate.Length(max=MAX_OPINIONS, error="Too many opinions."))
    notes = _text(load_default="")

    def __init__(self, *, department_ids=(), **kw):
        super().__init__(**kw)
        self.department_ids = set(department_ids)

    @validates_schema(skip_on_field_errors=False)
    def _departments_in_hospital(self, data, **_kw):
        errors = {i: {"ward_id": ["Choose a department of this hospital."]}
                  for i, op in enumerate(data.get("opinions", []))
                  if op.get("ward_id") and op["ward_id"] not in self.department_ids}
        if errors:
            raise ValidationError({"opinions": errors})


class WardFollowupForm(_FollowupForm):
    condition = fields.Str(required=True, validate=validate.OneOf([c.value for c in Condition],
                                                                  error="Choose one of the listed values."))
    medication_adherence = fields.List(fields.Nested(MedicineTaken), load_default=list)
    guidance = fields.Nested(GuidanceSet, load_default=lambda: {a: _no_guidance() for a in GUIDANCE_AREAS})
    next_visit_date = fields.Date(load_default=None, allow_none=True)
    red_flag = fields.Bool(load_default=False)
    red_flag_note = _text(load_default="")

    def __init__(self, *, medicines=(), today=None, **kw):
        super().__init__(**kw)
        self.medicines = list(medicines)
        self.today = today

    # Runs even when some fields failed, so the nurse sees every problem at once; fields that
    # failed are absent from `data`.
    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **_kw):
        errors = {}
        if "medication_adherence" in data:
            taken = [m.get("medicine") for m in data["medication_adherence"]]
            if taken != self.medicines:
                errors["medication_adherence"] = ["Answer for each discharge medicine."]
        guidance = data.get("guidance") or {}
        for area, g in guidance.items():
            if any(c not in GUIDANCE_CHOICES[area] for c in g.get("choices", [])):
                errors.setdefault("guidance", {})[area] = {"choices": ["Choose one of the listed values."]}
            elif g.get("given") and not (g.get("choices") or g.get("text", "").strip()):
                errors.setdefault("guidance", {})[area] = {"choices": ["Tick what was covered or write it down."]}
        if "guidance" in data and not any(g.get("given") for g in guidance.values()):
            errors["guidance"] = errors.get("guidance") or {"_schema": ["Record the guidance given on the call."]}
        visit = data.get("next_visit_date")
        if visit and self.today and visit < self.today:
            errors["next_visit_date"] = ["The next visit cannot be in the past."]
        if data.get("red_flag") and not data.get("red_flag_note", "").strip():
            errors["red_flag_note"] = ["Say what the doctor must know."]
        if errors:
            raise ValidationError(errors)


_SCORE = dict(validate=validate.Range(min=1, max=5, error="Choose a score from 1 to 5."),
              load_default=None, allow_none=True)


class HospitalFollowupForm(_FollowupForm):
    sat_overall = fields.Int(required=True, validate=_SCORE["validate"],
                             error_messages={"required": "Ask for the overall satisfaction."})
    sat_doctors = fields.Int(**_SCORE)
    sat_nurses = fields.Int(**_SCORE)
    sat_environment = fields.Int(**_SCORE)
    sat_cost = fields.Int(**_SCORE)
    sat_process = fields.Int(**_SCORE)


assert {f"sat_{d}" for d in SATISFACTION_DIMENSIONS} <= set(HospitalFollowupForm._declared_fields)


# --- HTML form <-> nested data ---------------------------------------------------------------

# Fields a form may repeat (checkbox groups): read with getlist.
_LIST_LEAVES = {"choices", "present"}


def from_form(form) -> dict:
    """Turn flat names into nested data: "opinions.0.text" → {"opinions": [{"text": ...}]},
    "guidance.diet.choices" (repeated) → a list. Empty strings of optional fields become absent,
    so "not answered" is None rather than a type error."""
    data: dict = {}
    for name in form.keys():
        if name in ("csrf_token", "duration_minutes"):
            continue
        parts = name.split(".")
        value = form.getlist(name) if parts[-1] in _LIST_LEAVES else form.get(name)
        if value == "" and parts[-1] not in ("text", "note", "notes", "red_flag_note", "medicine"):
            continue
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    data = _lists(data)
    minutes = form.get("duration_minutes", "").strip()
    if minutes:  # the call screen asks for minutes; the API and the record keep seconds
        try:
            data["duration_seconds"] = round(float(minutes) * 60)
        except ValueError:
            data["duration_seconds"] = minutes  # reported as "Not a valid integer."
    if isinstance(data.get("opinions"), list):  # the form's spare blank rows are not opinions
        data["opinions"] = [op for op in data["opinions"] if str(op.get("text", "")).strip()]
    return data


def _lists(node):
    """Dicts keyed "0", "1", ... become lists (in index order)."""
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def flat_errors(errors, prefix="") -> dict[str, list[str]]:
    """marshmallow's nested error dict → {"opinions.0.text": [...]}: the names the form uses;
    errors about the whole form are under "_schema"."""
    if isinstance(errors, (list, str)):
        return {prefix or "_schema": [errors] if isinstance(errors, str) else [str(e) for e in errors]}
    out: dict[str, list[str]] = {}
    for key, val in errors.items():
        name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
        out.update(flat_errors(val, name))
    return out


REFUSED_ALL = "refused_all"


class AttemptForm(_Strict):
    """One dial from the call screen. The callback time comes from a datetime-local input: a
    local (Asia/Shanghai) wall-clock time, made aware here."""
    # REFUSED_ALL is the second refusal button: 拒绝所有随访 (do-not-call), not "this call only".
    outcome = fields.Str(required=True, validate=validate.OneOf([o.value for o in Outcome] + [REFUSED_ALL],
                                                                error="Choose one of the listed values."))
    callback_at = fields.NaiveDateTime(load_default=None, allow_none=True,
                                       error_messages={"invalid": "Not a valid date and time."})
    note = fields.Str(load_default="", validate=validate.Length(max=500, error="Text is too long."))

    @post_load
    def _local_time(self, data, **_kw):
        data["refuse_all"] = data["outcome"] == REFUSED_ALL
        if data["refuse_all"]:
            data["outcome"] = Outcome.REFUSED.value
        if data["callback_at"] is not None:
            data["callback_at"] = data["callback_at"].replace(tzinfo=LOCAL_TZ)
        return data
