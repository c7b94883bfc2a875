"""The audit administrator's page: search the audit log (who, what, which object, when).
Reading the log is itself audited; only the audit administrator reaches it."""
from datetime import timedelta

from flask import Blueprint, render_template, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from ..core import audit
from ..core.clock import local_midnight
from ..core.access import blueprint_only_for
from ..extensions import db
from ..models import AuditEvent, Role
from ..reports.spreadsheet import spreadsheet_response
from . import nav

bp = Blueprint("audit_log", __name__, url_prefix="/audit")
nav("audit_log.index", "Audit log", [Role.AUDIT_ADMIN], order=90)

PAGE_SIZE = 50
EXPORT_CAP = 50_000


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


def search_query(f: dict):
    """The filtered SELECT, newest first. Action matches a prefix ("auth." finds all sign-ins)."""
    q = select(AuditEvent)
    if f["user"]:
        q = q.where(AuditEvent.username == f["user"])
    if f["action"]:
        q = q.where(AuditEvent.action.startswith(f["action"], autoescape=True))
    if f["object_type"]:
        q = q.where(AuditEvent.object_type == f["object_type"])
    if f["object_id"] is not None:
        q = q.where(AuditEvent.object_id == f["object_id"])
    if f["date_from"]:
        q = q.where(AuditEvent.at >= local_midnight(f["date_from"]))
    if f["date_to"]:
        q = q.where(AuditEvent.at < local_midnight(f["date_to"] + timedelta(days=1)))
    return q.order_by(AuditEvent.id.desc())


blueprint_only_for(bp, Role.AUDIT_ADMIN)


@bp.route("/")
def index():
    args = {k: v for k, v in request.args.items() if v != ""}
    try:
        f = AuditFilterSchema().load(args)
    except ValidationError as err:
        return render_template("audit_log/index.html", errors=err.messages, rows=[], total=0,
                               page=1, pages=1, f={}), 400
    q = search_query(f)
    shown = {k: v for k, v in args.items() if k not in ("page",)}
    if f["format"] == "csv":
        rows = db.session.scalars(q.limit(EXPORT_CAP)).all()
        audit.record("audit.export", object_type="audit_event", detail={"filters": shown, "rows": len(rows)})
        db.session.commit()
        return spreadsheet_response("csv", "audit-log", _CSV_HEADER, (_csv_row(e) for e in rows))
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = db.session.scalars(q.limit(PAGE_SIZE).offset((f["page"] - 1) * PAGE_SIZE)).all()
    audit.record("audit.search", object_type="audit_event", detail={"filters": shown, "page": f["page"]})
    db.session.commit()
    return render_template("audit_log/index.html", rows=rows, total=total, page=f["page"],
                           pages=max(1, -(-total // PAGE_SIZE)), f=args, errors={})


_CSV_HEADER = ["id", "at (UTC)", "username", "action", "object_type", "object_id", "ip", "detail", "hash"]


def _csv_row(e: AuditEvent):
    import json
    return [e.id, e.at, e.username, e.action, e.object_type, e.object_id, e.ip,
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True), e.hash]
