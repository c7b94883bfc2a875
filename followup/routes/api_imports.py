"""The import API for HIS integrations, authenticated by a per-hospital API token
(`Authorization: Bearer fu_…`), CSRF-exempt (no cookies are involved). Every call stores the
payload and returns at once (202) with the batch id; the batch is parsed and validated by a
background job. HL7 v2 messages are answered with one commit ACK (CA) each."""
import io
from functools import wraps

from flask import g, request
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from ..core import audit
from ..imports.batches import dispatch_batch, hospital_for_token, receive_bytes
from ..core.clock import utcnow
from ..extensions import csrf, db
from ..imports import hl7v2
from ..imports.errors import FileError, describe
from ..imports.tables import detect_encoding
from ..imports.run import rejected_rows
from ..models.imports import ImportBatch

blp = Blueprint("api_imports", __name__, url_prefix="/api/v1/imports",
                description="Discharge imports for HIS integration (per-hospital API token)")
csrf.exempt(blp)


def token_required(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        hospital = hospital_for_token(token, utcnow())
        if hospital is None:
            db.session.rollback()
            abort(401, message="a valid hospital API token is required")
        g.import_hospital = hospital
        return fn(*args, **kwargs)
    return wrapper


class BatchSchema(Schema):
    batch = fields.Int(attribute="id")
    status = fields.Str()
    created = fields.Bool()
    read = fields.Int()
    inserted = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()
    rejected = fields.Int()
    warned = fields.Int(metadata={"description": "rows imported with a note to correct (GET /{batch}/rejected, "
                                                 "kept=true): a malformed ID number set aside"})
    error = fields.Str(allow_none=True, attribute="error_text",
                       metadata={"description": "why the batch failed, in the reader's language"})


class Hl7ResultSchema(BatchSchema):
    acks = fields.List(fields.Str(), metadata={"description": "one ACK per message, in order"})


class RejectedSchema(Schema):
    row = fields.Int(attribute="row_no")
    errors = fields.Function(lambda r: [{"field": e["field"], "reason": describe(e["reason"], e.get("params"))}
                                        for e in r.errors],
                             metadata={"description": "[{field, reason}], the reason in the reader's language"})
    original = fields.Dict(attribute="columns", metadata={"description": "the row as sent; ID numbers masked"})
    kept = fields.Bool(metadata={"description": "true: the row was imported and the errors are warnings "
                                                "(the field was set aside until corrected)"})


def _accept(data: bytes, source: str | None, filename: str = ""):
    if not data:
        abort(422, message="empty body")
    batch, created = receive_bytes(g.import_hospital, data, source=source, channel="api",
                                   filename=filename, now=utcnow())
    audit.record("import.api", object_type="import_batch", object_id=batch.id,
                 detail={"source": batch.source, "new": created})
    db.session.commit()
    if created:
        dispatch_batch(batch)
        db.session.refresh(batch)
    batch.created = created
    return batch


def _body() -> tuple[bytes, str]:
    """The file: a multipart field `file`, else the raw body whatever its Content-Type (curl's
    --data-binary sends application/x-www-form-urlencoded, which must not be parsed as a form)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        return (upload.read(), upload.filename or "") if upload else (b"", "")
    return request.get_data(parse_form_data=False), request.args.get("filename", "")


@blp.route("/files", methods=["POST"])
@blp.response(202, BatchSchema)
@token_required
def post_file():
    """A HIS export (CSV or .xlsx) as the raw body (any Content-Type) or as multipart field `file`."""
    data, filename = _body()
    return _accept(data, None, filename)


@blp.route("/hl7", methods=["POST"])
@blp.response(202, Hl7ResultSchema)
@token_required
def post_hl7():
    """One or more HL7 v2 ADT^A03 messages (ER7 text, MLLP framing tolerated). Answered with one
    commit ACK (CA) per message once stored; the job validates them, and each message it cannot
    accept is a rejected row of the batch (GET /{batch}/rejected), row = message position."""
    data = request.get_data(parse_form_data=False)
    try:
        acks = hl7v2.commit_acks(data, detect_encoding(io.BytesIO(data)))
    except FileError as exc:
        abort(422, message=describe(exc.msgid, exc.params))
    batch = _accept(data, "hl7")
    batch.acks = acks
    return batch


@blp.route("/fhir", methods=["POST"])
@blp.response(202, BatchSchema)
@token_required
def post_fhir():
    """A FHIR R4 Bundle of Patient and Encounter resources, stored and read by the import job
    (poll the batch: a body that is not a Bundle fails it with the reason)."""
    return _accept(request.get_data(parse_form_data=False), "fhir")


def _own_batch(batch_id) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.hospital_id != g.import_hospital.id:
        abort(404, message="no such batch")
    return batch


@blp.route("/<int:batch_id>")
@blp.response(200, BatchSchema)
@token_required
def get_batch(batch_id):
    """A batch's status and counts (poll until status is completed or failed)."""
    batch = _own_batch(batch_id)
    db.session.commit()
    return batch


@blp.route("/<int:batch_id>/rejected")
@blp.response(200, RejectedSchema(many=True))
@token_required
def get_rejected(batch_id):
    """The rejected rows of a batch, each with its row number, fields and reasons, and the rows kept
    with a warning (`kept`: true)."""
    batch = _own_batch(batch_id)
    rows = list(rejected_rows(batch.id))
    db.session.commit()
    return rows
