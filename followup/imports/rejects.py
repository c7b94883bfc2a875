"""A batch's rejected rows as the CSV a hospital clerk corrects and imports again: the file's own
columns, then one column of reasons in the reader's language; rows that were kept with a
warning (a malformed ID number set aside) are in it too, marked as imported. ID numbers are masked (never stored
in clear), so the header says to type them in again."""
from flask_babel import gettext as _

from ..reports.spreadsheet import csv_bytes
from .errors import field_label, reason_text
from .run import rejected_rows


def rejected_csv(batch_id: int) -> tuple[bytes, int]:
    """(CSV bytes, number of rows)."""
    rows = list(rejected_rows(batch_id))
    headers = []
    for r in rows:
        headers.extend(k for k in r.columns if k not in headers)
    errors_header, row_word = _("errors (ID numbers are masked: type them in again)"), _("row")
    kept_note = _("(imported; the value was set aside: correct it and import the row again)")
    body = csv_bytes([*headers, errors_header], (
        [r.columns.get(h, "") for h in headers]
        + ["; ".join(f"{row_word} {r.row_no} {field_label(e['field'])}: {reason_text(e)}"
                     + (f" {kept_note}" if r.kept else "") for e in r.errors)]
        for r in rows))
    return body, len(rows)
