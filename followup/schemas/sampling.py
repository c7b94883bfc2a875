"""Inputs of the sampling pages and CLI: the draw form and the auditor's call form."""
from marshmallow import RAISE, Schema, fields, validate

from ..models.call import Outcome
from ..models.sample import Answer

ANSWERS = [a.value for a in Answer]
# The outcomes an auditor's dial can have (a subset of the hospital call queue's).
AUDIT_OUTCOMES = [Outcome.ANSWERED, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.POWERED_OFF,
                  Outcome.WRONG_NUMBER, Outcome.REFUSED]


class DrawForm(Schema):
    class Meta:
        unknown = RAISE

    period = fields.Str(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    rate = fields.Str(required=True, validate=validate.Length(min=1, max=16))
    public_seed = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    reason = fields.Str(load_default="", validate=validate.Length(max=2000))


class AttemptForm(Schema):
    """One dial; when answered, the patient's answers come with it."""

    class Meta:
        unknown = RAISE

    outcome = fields.Str(required=True, validate=validate.OneOf([str(o) for o in AUDIT_OUTCOMES]))
    note = fields.Str(load_default="", validate=validate.Length(max=500))
    hospital_called = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(ANSWERS))
    medication_guidance = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(ANSWERS))
    rehab_guidance = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(ANSWERS))
    satisfaction = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1, 5))
    opinions = fields.Str(load_default="", validate=validate.Length(max=4000))


def form_data(form) -> dict:
    """An HTML form as a dict for a schema: no CSRF token, empty fields as missing."""
    return {k: v for k, v in form.items() if k != "csrf_token" and v != ""}
