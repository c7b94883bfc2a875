"""Inputs of the notifications page and the QC and commission pages."""
from marshmallow import EXCLUDE, fields, pre_load, validate

from .ledger import TEXT, _Form

MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Month must look like 2026-11.")


class NotificationFilter(_Form):
    class Meta:
        unknown = EXCLUDE

    unread = fields.Bool(load_default=False)
    before = fields.Int(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


class MonthFilter(_Form):
    class Meta:
        unknown = EXCLUDE

    month = fields.Str(load_default=None, validate=MONTH)


_YES_NO = fields.Str(load_default="", validate=validate.OneOf(["", "yes", "no"]))


class QcReviewIn(_Form):
    form_complete = fields.Str(required=True, validate=validate.OneOf(["yes", "no"],
                                                                     error="Say whether the form is complete."))
    guidance_matched = _YES_NO
    opinion_verbatim = _YES_NO
    note = fields.Str(load_default="", validate=TEXT)
    callback_outcome = fields.Str(load_default="", validate=validate.OneOf(["", "confirmed", "disagreed", "unreachable"]))
    callback_note = fields.Str(load_default="", validate=TEXT)


class QcRateIn(_Form):
    rate_percent = fields.Int(required=True, validate=validate.Range(min=1, max=100))


class WeightsIn(_Form):
    followup_rate = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    on_time_rate = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    satisfaction = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    complaints = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    audit_consistency = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    items_on_time = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    complaints_cap = fields.Int(required=True, validate=validate.Range(min=1, max=1000))
    bottom_n = fields.Int(required=True, validate=validate.Range(min=1, max=50))


def _hours():
    return fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=-240, max=24 * 90))


class EscalationIn(_Form):
    """Hours per step (1 caller, 2 head nurse, 3 director, 4 QA); empty = the step is skipped."""

    @pre_load
    def _blank_is_none(self, data, **_kw):
        return {k: (None if v == "" else v) for k, v in data.items()}

    task_1, task_2, task_3, task_4 = _hours(), _hours(), _hours(), _hours()
    item_1, item_2, item_3, item_4 = _hours(), _hours(), _hours(), _hours()
    red_flag_1, red_flag_2, red_flag_3, red_flag_4 = _hours(), _hours(), _hours(), _hours()
