"""Inputs of QA's and the departments' ledger steps, the opinion reclassification and the
report filters. HTML forms post a csrf_token, which the schemas accept and ignore."""
from marshmallow import EXCLUDE, RAISE, Schema, fields, pre_load, validate

from ..models.opinion import Category, ItemStatus, Sentiment

TEXT = validate.Length(max=2000, error="Text is too long (2000 characters at most).")
MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Month must look like 2026-11.")


class _Form(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def _drop_csrf(self, data, **_kw):
        data = dict(data)
        data.pop("csrf_token", None)
        for key in ("ward_id", "due_date"):  # an empty <select>/<input type=date> means "none"
            if data.get(key) == "":
                data.pop(key)
        return data


class RespondIn(_Form):
    cause = fields.Str(required=True, validate=[validate.Length(min=1, error="Say what caused it."), TEXT])
    measures = fields.Str(required=True, validate=[validate.Length(min=1, error="Say what was done."), TEXT])


class CloseIn(_Form):
    note = fields.Str(load_default="", validate=TEXT)


class SendBackIn(_Form):
    note = fields.Str(required=True, validate=[validate.Length(min=1, error="Say why it is sent back."), TEXT])


class ReassignIn(_Form):
    ward_id = fields.Int(load_default=None)
    due_date = fields.Date(load_default=None)
    note = fields.Str(load_default="", validate=TEXT)


class CreateItemIn(_Form):
    ward_id = fields.Int(load_default=None)
    due_date = fields.Date(load_default=None)


class ReclassifyIn(_Form):
    category = fields.Str(required=True, validate=validate.OneOf([c.value for c in Category]))
    sentiment = fields.Str(required=True, validate=validate.OneOf([s.value for s in Sentiment]))
    ward_id = fields.Int(load_default=None)


class LedgerFilter(Schema):
    """Query string of the ledger list (unknown keys such as `page` are the pager's)."""

    class Meta:
        unknown = EXCLUDE

    status = fields.Str(load_default="", validate=validate.OneOf(["", "active", *[s.value for s in ItemStatus]]))
    ward = fields.Int(load_default=None)
    overdue = fields.Bool(load_default=False)
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=10_000))


class ReportFilter(Schema):
    class Meta:
        unknown = EXCLUDE

    month = fields.Str(load_default=None, validate=MONTH)
    hospital = fields.Int(load_default=None)
    level = fields.Str(load_default="hospital", validate=validate.OneOf(["hospital", "county"]))
    sort = fields.Str(load_default="followup_rate", validate=validate.OneOf(
        ["followup_rate", "on_time_rate", "satisfaction", "complaints_per_1000", "open_items"]))
    sentiment = fields.Str(load_default="", validate=validate.OneOf(["", *[s.value for s in Sentiment]]))
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=10_000))


def load_or_400(schema: Schema, data) -> dict:
    """Load request data; a bad query string or form is a 400 naming the fields and reasons."""
    from flask import abort
    from marshmallow import ValidationError
    try:
        return schema.load(data)
    except ValidationError as err:
        abort(400, description="; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in err.messages.items()))
