"""The audit administrator's page: search the audit log (who, what, which object, when).
Reading the log is itself audited; only the audit administrator reaches it."""
from flask import Blueprint, render_template, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..core.access import blueprint_only_for
from ..extensions import db
from ..models import Role
from ..reports.spreadsheet import spreadsheet_response
from ..security import audit_log
from . import nav

bp = Blueprint("audit_log", __name__, url_prefix="/audit")
nav("audit_log.index", "Audit log", [Role.AUDIT_ADMIN], order=90)


class AuditFilterSchema(Schema):
    class Meta:
        unknown = RAISE

    user = fields.Str(load_default="", validate=validate.Length(max=64))
    action = fields.Str(load_default="", validate=validate.Length(max=48))
    object_type = fields.Str(load_default="", validate=validate.Length(max=32))
    object_id = fields.Int(load_default=None, allow_none=True, validate=validate.Range(0, 2**31 - 1))
    date_from = fields.Date(load_default=None, allow_none=True, data_key="from")
    date_to = fields.Date(load_default=None, allow_none=True, data_key="to")
    page = fields.Int(load_default=1, validate=validate.Range(1, 100_000))
    format = fields.Str(load_default="", validate=validate.OneOf(["", "csv"]))


blueprint_only_for(bp, Role.AUDIT_ADMIN)


@bp.route("/")
def index():
    args = {k: v for k, v in request.args.items() if v != ""}
    try:
        f = AuditFilterSchema().load(args)
    except ValidationError as err:
        return render_template("audit_log/index.html", errors=err.messages, rows=[], total=0,
                               page=1, pages=1, f={}), 400
    shown = {k: v for k, v in args.items() if k != "page"}
    if f["format"] == "csv":
        rows = audit_log.export_rows(f, shown)
        db.session.commit()
        return spreadsheet_response("csv", "audit-log", audit_log.CSV_HEADER, rows)
    page = audit_log.search_page(f, shown)
    db.session.commit()
    return render_template("audit_log/index.html", f=args, errors={}, **page)
