"""Receiving imports: a batch per distinct payload (same bytes = same batch, no new work), the
payload kept encrypted in the database until the batch finishes, per-hospital API tokens and
column mappings. Functions flush, never commit; the caller commits and then dispatches."""
import hashlib
import io
import os
import secrets
import tempfile
import unicodedata
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from .. import jobs
from ..core.crypto import keys
from ..extensions import db
from ..models import Hospital
from ..models.imports import (BatchStatus, HospitalApiToken, HospitalCodeMap, HospitalColumnMapping, ImportBatch,
                              ImportPayloadPart)

PART_BYTES = 1 << 20
_PART_KEY_ID = 1  # first byte of each stored part, like crypto.EncryptedText's key id
JOB_NAME = "import_batch"


UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx")


class UploadRefused(Exception):
    """A file the upload form does not take; `message` is an English msgid the page translates."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def receive_upload(hospital: Hospital, upload, *, user, now: datetime) -> tuple[ImportBatch, bool]:
    """A file from the import page (a werkzeug FileStorage or None): refused unless it is a CSV or
    .xlsx; otherwise received like any payload, the upload audited. Returns (batch, created)."""
    from ..core import audit
    if not upload or not upload.filename:
        raise UploadRefused("Choose a file to import.")
    if not upload.filename.lower().endswith(UPLOAD_SUFFIXES):
        raise UploadRefused("Only CSV and .xlsx files can be imported.")
    batch, created = receive(hospital, upload.stream, source=None, channel="upload",
                             filename=upload.filename, user=user, now=now)
    audit.record("import.upload", object_type="import_batch", object_id=batch.id, detail={"new": created})
    return batch, created


BATCHES_PAGE = 50


def batch_page(scope, page: int, per_page: int = BATCHES_PAGE) -> tuple[list[ImportBatch], int, int, int]:
    """(batches newest first, total, page, pages) of the batches `scope` (access filter) allows."""
    from sqlalchemy import func
    total = db.session.scalar(select(func.count()).select_from(ImportBatch).where(scope)) or 0
    pages = max(1, -(-total // per_page))
    page = max(1, min(page or 1, pages))
    rows = db.session.scalars(select(ImportBatch).where(scope).order_by(ImportBatch.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total, page, pages


def receive(hospital: Hospital, stream: BinaryIO, *, source: str | None, channel: str, filename: str = "",
            user=None, now: datetime, submit_job: bool = True) -> tuple[ImportBatch, bool]:
    """Record a payload as a batch and submit its job. Returns (batch, created).

    `source` None means a file: xlsx when it is a zip, CSV otherwise (the reader refines)."""
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while block := stream.read(PART_BYTES):
        digest.update(block)
        size += len(block)
    hexdigest = digest.hexdigest()
    # A failed batch does not count: the same bytes again are a new try.
    same = select(ImportBatch).where(ImportBatch.hospital_id == hospital.id, ImportBatch.digest == hexdigest,
                                     ImportBatch.status != BatchStatus.FAILED)
    existing = db.session.scalar(same)
    if existing is not None:
        return existing, False
    stream.seek(0)
    if source is None:
        source = "xlsx" if stream.read(4) == b"PK\x03\x04" else "csv"
        stream.seek(0)
    batch = ImportBatch(hospital_id=hospital.id, source=source, channel=channel, filename=filename[:255],
                        digest=hexdigest, size_bytes=size, created_by_id=getattr(user, "id", None),
                        created_at=now)
    try:
        with db.session.begin_nested():  # the same bytes may arrive twice at once
            db.session.add(batch)
    except IntegrityError:
        return db.session.scalar(same), False
    seq = 0
    while block := stream.read(PART_BYTES):
        # Core inserts, one part at a time: no ORM object keeps a megabyte alive.
        db.session.execute(insert(ImportPayloadPart).values(batch_id=batch.id, seq=seq, data=_seal(block)))
        seq += 1
    if submit_job:  # the CLI runs the batch itself instead
        jobs.submit(JOB_NAME, batch.id, dedupe_key=f"import:{batch.id}")
    db.session.flush()
    return batch, True


def receive_bytes(hospital, data: bytes, **kwargs) -> tuple[ImportBatch, bool]:
    return receive(hospital, io.BytesIO(data), **kwargs)


def dispatch_batch(batch: ImportBatch) -> None:
    """After the commit: hand the batch's job to the queue (or run it in-process)."""
    from ..models import OutboxJob
    row = db.session.scalar(select(OutboxJob).where(OutboxJob.dedupe_key == f"import:{batch.id}"))
    if row is not None:
        jobs.dispatch([row.id])


def payload_file(batch_id: int) -> BinaryIO:
    """The payload as a seekable temporary file (readers need two passes; openpyxl seeks)."""
    out = tempfile.TemporaryFile()
    seq = 0
    # One part per query: a plain fetch would hold the whole payload in memory at once.
    while (data := db.session.scalar(select(ImportPayloadPart.data).where(
            ImportPayloadPart.batch_id == batch_id, ImportPayloadPart.seq == seq))) is not None:
        out.write(_open(data))
        seq += 1
    out.seek(0)
    return out


def drop_payload(batch_id: int) -> None:
    """Once finished the raw bytes (names, phones, ID numbers in clear) are not kept."""
    db.session.execute(delete(ImportPayloadPart).where(ImportPayloadPart.batch_id == batch_id))


def _seal(block: bytes) -> bytes:
    nonce = os.urandom(12)
    return bytes([_PART_KEY_ID]) + nonce + keys().aead.encrypt(nonce, block, None)


def _open(blob: bytes) -> bytes:
    blob = bytes(blob)
    if blob[0] != _PART_KEY_ID:
        raise ValueError(f"unknown payload key id {blob[0]}")
    return keys().aead.decrypt(blob[1:13], blob[13:], None)


# --- API tokens -----------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    # The token is 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(hospital: Hospital, label: str, now: datetime) -> tuple[HospitalApiToken, str]:
    """A new token for a hospital's HIS. The clear token is returned once and never stored."""
    token = "fu_" + secrets.token_urlsafe(32)
    row = HospitalApiToken(hospital_id=hospital.id, token_hash=_token_hash(token), prefix=token[:10],
                           label=label[:64], created_at=now)
    db.session.add(row)
    db.session.flush()
    return row, token


def hospital_for_token(token: str, now: datetime) -> Hospital | None:
    if not token:
        return None
    row = db.session.scalar(select(HospitalApiToken).where(
        HospitalApiToken.token_hash == _token_hash(token), HospitalApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = now
    return row.hospital


def api_tokens(hospital_id: int) -> list[HospitalApiToken]:
    """A hospital's tokens, working ones first, newest first."""
    return list(db.session.scalars(select(HospitalApiToken).where(HospitalApiToken.hospital_id == hospital_id)
                                   .order_by(HospitalApiToken.revoked_at.is_not(None),
                                             HospitalApiToken.created_at.desc(), HospitalApiToken.id.desc())))


def revoke_api_token(row: HospitalApiToken, now: datetime) -> bool:
    """The token stops working at once. False when it was revoked already (the first date stays)."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    db.session.flush()
    return True


# --- column mappings ------------------------------------------------------------------------

def column_mapping(hospital_id: int) -> dict[str, str]:
    rows = db.session.execute(select(HospitalColumnMapping.source_header, HospitalColumnMapping.field)
                              .where(HospitalColumnMapping.hospital_id == hospital_id))
    return dict(rows.all())


def built_in_field(source_header: str) -> str | None:
    """The field a header is read as without any mapping (None: ignored unless mapped)."""
    from .headers import FIELD_ALIASES, normalise_header
    key = normalise_header(source_header)
    return next((f for f, aliases in FIELD_ALIASES.items() if key in map(normalise_header, aliases)), None)


def column_mapping_rows(hospital_id: int) -> list[HospitalColumnMapping]:
    return list(db.session.scalars(select(HospitalColumnMapping)
                                   .where(HospitalColumnMapping.hospital_id == hospital_id)
                                   .order_by(HospitalColumnMapping.source_header)))


def delete_column_mapping(row: HospitalColumnMapping) -> None:
    """The header falls back to the built-in names (or is ignored) from the next import on."""
    db.session.delete(row)
    db.session.flush()


def set_column_mapping(hospital: Hospital, source_header: str, field: str) -> HospitalColumnMapping:
    from .headers import FIELD_ALIASES
    if field not in FIELD_ALIASES:
        raise ValueError(f"unknown field {field!r}")
    row = _found_or_added(
        lambda: _mapping_for(hospital.id, source_header),
        lambda: HospitalColumnMapping(hospital_id=hospital.id, source_header=source_header, field=field))
    row.field = field
    db.session.flush()
    return row


def _found_or_added(find, make):
    """The row find() returns, else make()'s, added in a savepoint: when another admin saves the
    same key meanwhile, the unique key refuses ours and theirs is found and updated instead."""
    row = find()
    if row is None:
        try:
            with db.session.begin_nested():
                row = make()
                db.session.add(row)
        except IntegrityError:
            row = find()
    return row


def _mapping_for(hospital_id: int, source_header: str) -> HospitalColumnMapping | None:
    """The hospital's mapping for a header as imports compare headers (姓　名 is 姓名), so one
    header never has two mappings that differ only in spaces or full-width forms."""
    from .headers import normalise_header
    key = normalise_header(source_header)
    rows = db.session.scalars(select(HospitalColumnMapping).where(HospitalColumnMapping.hospital_id == hospital_id))
    return next((r for r in rows if normalise_header(r.source_header) == key), None)


# --- a hospital's own codes -------------------------------------------------------------------

CODE_FIELDS = ("disposition",)


def code_maps(hospital_id: int) -> dict[str, dict[str, str]]:
    """{field: {the hospital's code: ours}}, read on top of the built-in code tables."""
    out: dict[str, dict[str, str]] = {}
    for row in db.session.scalars(select(HospitalCodeMap).where(HospitalCodeMap.hospital_id == hospital_id)):
        out.setdefault(row.field, {})[unicodedata.normalize("NFKC", row.source_code).strip().lower()] = row.code
    return out


def code_map_rows(hospital_id: int) -> list[HospitalCodeMap]:
    return list(db.session.scalars(select(HospitalCodeMap).where(HospitalCodeMap.hospital_id == hospital_id)
                                   .order_by(HospitalCodeMap.field, HospitalCodeMap.source_code)))


def delete_code_map(row: HospitalCodeMap) -> None:
    """The hospital's code falls back to the built-in tables from the next import on."""
    db.session.delete(row)
    db.session.flush()


def set_code_map(hospital: Hospital, field: str, source_code: str, code: str) -> HospitalCodeMap:
    """The hospital's `source_code` for `field` means our `code` from the next import on."""
    from ..models.discharge import DISPOSITIONS
    # As the import reads a cell (NFKC, stripped, any case), so one code never has two rows.
    source_code = unicodedata.normalize("NFKC", source_code or "").strip()[:32]
    if field not in CODE_FIELDS or code not in DISPOSITIONS or not source_code:
        raise ValueError(f"unknown field or code: {field} {source_code!r} → {code!r}")
    row = _found_or_added(
        lambda: _code_map_for(hospital.id, field, source_code),
        lambda: HospitalCodeMap(hospital_id=hospital.id, field=field, source_code=source_code, code=code))
    row.source_code, row.code = source_code, code
    db.session.flush()
    return row


def _code_map_for(hospital_id: int, field: str, source_code: str) -> HospitalCodeMap | None:
    return db.session.scalar(select(HospitalCodeMap).where(
        HospitalCodeMap.hospital_id == hospital_id, HospitalCodeMap.field == field,
        func.lower(HospitalCodeMap.source_code) == source_code.lower()))
