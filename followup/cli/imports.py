"""`flask followup import FILE --hospital CODE` and the API-token command for HIS integrations."""
import json
import time

import click
from flask import current_app
from sqlalchemy import select

from ..imports.batches import create_api_token, receive
from ..core.clock import utcnow
from ..extensions import db
from ..imports.run import ImportSettings, run_batch
from ..models import Hospital
from ..models.imports import BatchStatus, ImportBatch
from . import followup_cli

SOURCES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".hl7": "hl7", ".json": "fhir"}


def _hospital(code: str) -> Hospital:
    h = db.session.scalar(select(Hospital).where(Hospital.code == code))
    if h is None:
        raise click.ClickException(f"no hospital with code {code!r} (see: flask followup hospitals)")
    return h


@followup_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--hospital", "code", required=True, help="Hospital code.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "hl7", "fhir"]),
              help="Default: from the file (xlsx by content, .hl7, .json = FHIR, else CSV).")
def import_file(path, code, fmt):
    """Import a discharge file and run it to the end; print its counts as one JSON object.

    Exit 0 when the batch completed (rows may have been rejected: see the counts), 1 when the
    file could not be read at all. Running it again on the same file resumes an unfinished
    batch, or prints the finished batch's counts with nothing new inserted by this run."""
    hospital = _hospital(code)
    ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    source = fmt or ("hl7" if SOURCES.get(ext) == "hl7" else "fhir" if SOURCES.get(ext) == "fhir" else None)
    with open(path, "rb") as fh:
        batch, created = receive(hospital, fh, source=source, channel="cli", filename=path.rsplit("/", 1)[-1],
                                 now=utcnow(), submit_job=False)
    db.session.commit()
    batch_id = batch.id
    already_done = batch.finished
    settings = ImportSettings.from_app(current_app._get_current_object())
    while run_batch(batch_id, settings) in ("busy", "lost"):
        time.sleep(1)  # a worker holds the batch: wait for it
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch_id)
    counts = batch.counts()
    if already_done:  # same file again: this run did nothing
        counts.update(inserted=0, updated=0, repeat_of_batch=batch_id)
    if batch.error:
        counts["error"] = batch.error_text  # in the default locale (Chinese)
    click.echo(json.dumps(counts, ensure_ascii=False))
    if batch.status != BatchStatus.COMPLETED:
        raise SystemExit(1)


@followup_cli.command("import-token")
@click.option("--hospital", "code", required=True, help="Hospital code.")
@click.option("--label", default="HIS", show_default=True, help="What the token is for.")
def import_token(code, label):
    """Create an API token for a hospital's HIS. It is printed once; only its hash is kept."""
    from ..core import audit
    row, token = create_api_token(_hospital(code), label, utcnow())
    audit.record("import.token_created", object_type="hospital_api_token", object_id=row.id)
    db.session.commit()
    click.echo(token)


@followup_cli.command("import-token-revoke")
@click.option("--hospital", "code", required=True, help="Hospital code.")
@click.argument("prefix")
def import_token_revoke(code, prefix):
    """Revoke the hospital's token that starts with PREFIX (as the HIS integration page lists it).
    It stops working at once. Exit 1 when no working token, or more than one, matches."""
    from ..core import audit
    from ..imports.batches import api_tokens, revoke_api_token
    hospital = _hospital(code)
    prefix = prefix[:10]  # what the page shows; a whole token pasted works too
    matches = [t for t in api_tokens(hospital.id) if t.revoked_at is None and t.prefix.startswith(prefix)]
    if len(matches) != 1:
        raise click.ClickException(f"{len(matches)} working tokens of {code} start with {prefix!r}; "
                                   "give a prefix that names exactly one")
    revoke_api_token(matches[0], utcnow())
    audit.record("import.token_revoked", object_type="hospital_api_token", object_id=matches[0].id)
    db.session.commit()
    click.echo(f"revoked {matches[0].prefix}… ({matches[0].label})")


@followup_cli.command("import-mapping")
@click.option("--hospital", "code", required=True, help="Hospital code.")
@click.argument("header")
@click.argument("field")
def import_mapping(code, header, field):
    """Map a hospital's own column HEADER to one of our FIELDs (e.g. 病人电话 phone)."""
    from ..imports.batches import set_column_mapping
    try:
        set_column_mapping(_hospital(code), header, field)
    except ValueError as exc:
        from ..imports.headers import FIELDS
        raise click.ClickException(f"{exc}; fields: {', '.join(FIELDS)}") from None
    db.session.commit()
    click.echo(f"{header} → {field}")


@followup_cli.command("import-code")
@click.option("--hospital", "code", required=True, help="Hospital code.")
@click.argument("field", type=click.Choice(["disposition"]))
@click.argument("source_code")
@click.argument("ours")
def import_code(code, field, source_code, ours):
    """The hospital's own SOURCE_CODE for FIELD means OURS (e.g. disposition 07 2: its HIS's 07 is
    离院方式 2 医嘱转院), read before the standard tables from the next import on."""
    from ..core import audit
    from ..imports.batches import set_code_map
    try:
        row = set_code_map(_hospital(code), field, source_code, ours)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record("import.code_map_set", object_type="hospital_code_map", object_id=row.id,
                 detail={"field": field, "source_code": row.source_code, "code": ours})
    db.session.commit()
    click.echo(f"{field}: {row.source_code} → {ours}")
