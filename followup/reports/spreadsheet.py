"""Spreadsheet exports (CSV with BOM, xlsx) that are safe to open in Excel/WPS.

Every text cell that a spreadsheet would read as a formula or a command (it starts with
= + - @ tab CR or NUL, ASVS 5.0 1.2.10) gets a leading apostrophe; numbers stay numbers, so a
legitimate -3 in a numeric column is still summable. Use these writers for every export: the
rule lives here only."""
import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Sequence

import xlsxwriter
from flask import Response

RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value):
    """A cell value safe to write: risky text gets a leading ', numbers and dates pass."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float, Decimal, date, datetime)):
        return value
    text = str(value)
    return "'" + text if text.startswith(RISKY_PREFIXES) else text


def _cell_text(value) -> str:
    value = neutralise(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with BOM (Excel on Chinese Windows then reads it right), RFC 4180 quoting."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([_cell_text(h) for h in headers])
    for row in rows:
        writer.writerow([_cell_text(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    """One sheet; text is always written as text (IDs and phones keep their digits), numbers as
    numbers, dates as dates. Formulas and URLs are never created from data."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for c, h in enumerate(headers):
        ws.write_string(0, c, _cell_text(h), bold)
    for r, row in enumerate(rows, start=1):
        for c, raw in enumerate(row):
            value = neutralise(raw)
            if isinstance(value, datetime):
                ws.write_datetime(r, c, value.replace(tzinfo=None), stamp)
            elif isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, (int, float, Decimal)):
                ws.write_number(r, c, float(value))
            else:
                ws.write_string(r, c, value)
    book.close()
    return out.getvalue()


def spreadsheet_response(fmt: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence],
                         sheet: str = "Sheet1") -> Response:
    """A download of `rows` as fmt 'csv' or 'xlsx'; `filename` without extension.
    Callers audit the export themselves (what was exported, never the values)."""
    from urllib.parse import quote
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(headers, rows, sheet), XLSX_MIMETYPE
    elif fmt == "csv":
        body, mimetype = csv_bytes(headers, rows), CSV_MIMETYPE
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    resp = Response(body, mimetype=mimetype)
    name = f"{filename}.{fmt}"
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(name)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp
