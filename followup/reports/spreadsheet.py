"""Spreadsheet exports (CSV with BOM, xlsx) that are safe to open in Excel/WPS.

Every text cell that a spreadsheet would read as a formula or a command (it starts with
= + - @ tab CR or NUL, ASVS 5.0 1.2.10) gets a leading apostrophe; numbers stay numbers, so a
legitimate -3 in a numeric column is still summable. Use these writers for every export: the
rule lives here only. Callers audit each export (what was exported, never the values)."""
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import xlsxwriter
from flask import Response

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value):
    """Make one cell value inert. Non-strings (numbers, dates, None) pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


@dataclass
class Chart:
    """A native Excel chart over its own sheet's cells (so it always equals the table).
    Series are columns (`columns`, categories in column `categories`) or, with `by_row`, rows
    (each data row a series, the header row's cells from column 1 the categories)."""
    kind: str                      # line | column | bar
    title: str
    columns: Sequence[int] = ()
    categories: int = 0
    by_row: bool = False
    y_min: float | None = None
    y_max: float | None = None
    width: int = 640
    height: int = 300


@dataclass
class Sheet:
    title: str                     # ≤ 31 characters (Excel's limit); Chinese is fine
    header: Sequence[str]
    rows: Iterable[Sequence] = field(default_factory=list)
    widths: Sequence[int] | None = None
    charts: Sequence[Chart] = ()


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bool, int, float, Decimal)):
        return str(value)
    return neutralise(str(value))


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with BOM, so Excel on a Chinese Windows opens it without mojibake; RFC 4180."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([_csv_text(h) for h in header])
    for row in rows:
        w.writerow([_csv_text(v) for v in row])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


csv_bytes = to_csv  # the same writer under the name the import pages use


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One workbook, one worksheet per Sheet, streamed with constant memory. Text is always
    written as text (IDs and phones keep their digits); formulas and URLs are never created."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True,
                                   "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F6"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.title[:31])
        for c, h in enumerate(sheet.header):
            ws.write_string(0, c, neutralise(str(h)), bold)
            ws.set_column(c, c, (sheet.widths[c] if sheet.widths else 14))
        n = 0
        for n, row in enumerate(sheet.rows, start=1):
            for c, v in enumerate(row):
                _write(ws, n, c, v)
        ws.freeze_panes(1, 0)
        anchor = n + 2
        for spec in sheet.charts if n else ():
            ws.insert_chart(anchor, 0, _chart(wb, ws.name, spec, n, len(sheet.header)))
            anchor += spec.height // 20 + 2
    wb.close()
    return out.getvalue()


def _chart(wb, name: str, spec: Chart, last_row: int, n_cols: int):
    chart = wb.add_chart({"type": spec.kind})
    if spec.by_row:
        for r in range(1, last_row + 1):
            chart.add_series({"name": [name, r, 0], "categories": [name, 0, 1, 0, n_cols - 1],
                              "values": [name, r, 1, r, n_cols - 1], "marker": {"type": "circle", "size": 4}})
    else:
        for c in spec.columns:
            s = {"name": [name, 0, c], "categories": [name, 1, spec.categories, last_row, spec.categories],
                 "values": [name, 1, c, last_row, c]}
            if spec.kind == "line":
                s["marker"] = {"type": "circle", "size": 5}
            else:
                s["data_labels"] = {"value": True}
            chart.add_series(s)
    chart.set_title({"name": spec.title})
    axis = {k: v for k, v in (("min", spec.y_min), ("max", spec.y_max)) if v is not None}
    if spec.kind == "bar":
        chart.set_x_axis(axis)
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
    else:
        chart.set_y_axis(axis)
        chart.set_legend({"position": "bottom"})
    chart.set_size({"width": spec.width, "height": spec.height})
    return chart


def _write(ws, r, c, v):
    if v is None:
        return
    if isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, (int, float, Decimal)):
        ws.write_number(r, c, float(v))
    elif isinstance(v, (date, datetime)):
        ws.write_datetime(r, c, v.replace(tzinfo=None) if getattr(v, "tzinfo", None) else v)
    else:
        ws.write_string(r, c, neutralise(str(v)))


def spreadsheet_response(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence],
                         title: str = "Sheet1") -> Response:
    """A download of `rows` as fmt 'csv' or 'xlsx'; `filename` without extension (Chinese ok)."""
    if fmt == "xlsx":
        body, mimetype = to_xlsx([Sheet(title, header, rows)]), XLSX_MIMETYPE
    elif fmt == "csv":
        body, mimetype = to_csv(header, rows), CSV_MIMETYPE
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(f'{filename}.{fmt}')}")
    resp.headers["Cache-Control"] = "no-store"
    return resp
