"""Spreadsheet exports (CSV with BOM, xlsx) that are safe to open in Excel/WPS.

Text cells that a spreadsheet would read as a formula (= + - @, or a leading tab/CR/NUL) are
prefixed with an apostrophe. Numbers stay numbers, so a negative figure is still a figure."""
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import xlsxwriter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value):
    """Make one cell value inert. Non-strings (int, float, date, None) pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


@dataclass
class Sheet:
    title: str                     # ≤ 31 characters (Excel's limit); Chinese is fine
    header: Sequence[str]
    rows: Iterable[Sequence] = field(default_factory=list)
    widths: Sequence[int] | None = None


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with BOM, so Excel on a Chinese Windows opens it without mojibake."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow([neutralise(h) for h in header])
    for row in rows:
        w.writerow(["" if v is None else neutralise(v) for v in row])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One workbook, one worksheet per Sheet, streamed with constant memory."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True,
                                   "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F6"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.title[:31])
        for c, h in enumerate(sheet.header):
            ws.write_string(0, c, str(h), bold)
            ws.set_column(c, c, (sheet.widths[c] if sheet.widths else 14))
        for r, row in enumerate(sheet.rows, start=1):
            for c, v in enumerate(row):
                _write(ws, r, c, v)
        ws.freeze_panes(1, 0)
    wb.close()
    return out.getvalue()


def _write(ws, r, c, v):
    if v is None:
        return
    if isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, (int, float)):
        ws.write_number(r, c, v)
    elif hasattr(v, "isoformat") and not isinstance(v, str):
        ws.write_datetime(r, c, v.replace(tzinfo=None) if getattr(v, "tzinfo", None) else v)
    else:
        ws.write_string(r, c, neutralise(str(v)))
