"""Spreadsheet exports: formula injection neutralised, numbers stay numbers, read back with
openpyxl (xlsx) and csv (UTF-8 with BOM)."""
import csv
import io
import re
from datetime import date

import openpyxl

from followup.reports.spreadsheet import Sheet, neutralise, spreadsheet_response, to_csv, to_xlsx

PAYLOADS = [
    "=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", "\0=1", "=HYPERLINK(\"http://x\",\"点我\")",
    "@SUM(1+1)*cmd|' /C calc'!A0", "=cmd|' /C notepad'!'A1'", "-2+3+cmd|' /C calc'!A0",
]
SAFE = ["张三", "138****5678", "371502********123X", "0123", "a=b", "整改 - 已完成"]
HEADERS = ["text", "number"]


def _rows():
    rows = [[p, -3] for p in PAYLOADS] + [[s, 7.5] for s in SAFE]
    return rows + [["", 0], [None, -12345678901]]


def test_risky_text_is_prefixed_and_safe_text_untouched():
    for p in PAYLOADS:
        assert neutralise(p) == "'" + p
    for s in SAFE:
        assert neutralise(s) == s
    assert neutralise(-3) == -3 and neutralise(date(2026, 1, 2)) == date(2026, 1, 2)


def test_a_workbook_has_one_sheet_per_section_with_a_frozen_header():
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx([Sheet("汇总", ["a"], [[1]]), Sheet("明细", ["=b"], [["-x"]])])))
    assert wb.sheetnames == ["汇总", "明细"]
    assert wb["明细"]["A1"].value == "'=b" and wb["明细"]["A2"].value == "'-x"
    assert wb["汇总"].freeze_panes == "A2"


def _ooxml_text(value):
    """XlsxWriter stores control characters as _xHHHH_ (as Excel does); openpyxl leaves them."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def test_xlsx_has_no_formula_cells_and_negative_numbers_stay_numeric():
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx([Sheet("导出", HEADERS, _rows())])))
    ws = wb.active
    cells = list(ws.iter_rows(min_row=2))
    assert all(c.data_type != "f" for row in cells for c in row)
    for row, payload in zip(cells, PAYLOADS):
        assert _ooxml_text(row[0].value) == "'" + payload and row[0].data_type == "s"
        assert row[1].value == -3 and row[1].data_type == "n"
    texts = [row[0].value for row in cells[len(PAYLOADS):len(PAYLOADS) + len(SAFE)]]
    assert texts == SAFE  # "0123" kept its leading zero, as text
    assert cells[-1][1].value == -12345678901


def test_csv_is_utf8_with_bom_and_every_risky_cell_starts_with_an_apostrophe():
    raw = to_csv(HEADERS, _rows())
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(_rows())
    assert rows[0] == HEADERS
    for row, payload in zip(rows[1:], PAYLOADS):
        assert row[0] == "'" + payload and row[1] == "-3"
    assert [r[0] for r in rows[1 + len(PAYLOADS):1 + len(PAYLOADS) + len(SAFE)]] == SAFE
    assert all(not r[0].startswith(("=", "+", "-", "@", "\t", "\r", "\0")) for r in rows[1:])


def test_download_response_names_the_file_and_is_not_cached(app):
    resp = spreadsheet_response("xlsx", "随访导出", HEADERS, [["=1", 1]])
    assert resp.headers["Cache-Control"] == "no-store"
    assert "filename*=UTF-8''%E9%9A%8F" in resp.headers["Content-Disposition"]
    try:
        spreadsheet_response("xls", "x", HEADERS, [])
        raise AssertionError("unknown format accepted")
    except ValueError:
        pass
