"""Patient commands: (re)build the search index (full pinyin, every number's blind index)."""
import click
from sqlalchemy import select

from ..core.crypto import keys
from ..extensions import db
from ..models import Patient
from ..patients.search_index import reindex
from . import followup_cli


@followup_cli.command("reindex-patients")
@click.option("--batch", default=5000, show_default=True, help="Patients per committed batch.")
def reindex_patients(batch):
    """Rebuild the search columns of existing patients (after migration 0013, and after the release
    that indexes numbers with an extension by their line too; safe to run again)."""
    last, total = 0, 0
    while True:
        ids = list(db.session.scalars(select(Patient.id).where(Patient.id > last).order_by(Patient.id).limit(batch)))
        if not ids:
            break
        total += reindex(db.session.connection(), ids, keys())
        db.session.commit()
        last = ids[-1]
    click.echo(f"{total} patients indexed")
