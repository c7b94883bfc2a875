"""Exports are safe to open: formulas neutralised, numbers kept numeric, Chinese intact."""
import csv
import io
from datetime import date

import openpyxl
import pytest

from followup.reports.spreadsheet import Sheet, neutralise, to_csv, to_xlsx

PAYLOADS = ["=1+1", "+cmd", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\tX", "\rY", "\0Z",
            '=HYPERLINK("http://x","点我")', "=cmd|' /C calc'!A0", "-"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_like_text_is_prefixed(payload):
    assert neutralise(payload) == "'" + payload


def test_xlsx_round_trip_keeps_payloads_as_text_and_numbers_as_numbers():
    rows = [[p, -3, 2.5, "张三", date(2026, 11, 1)] for p in PAYLOADS]
    data = to_xlsx([Sheet("意见", ["文本", "差值", "比率", "姓名", "日期"], rows)])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    for i, p in enumerate(PAYLOADS, start=2):
        cell = ws.cell(i, 1)
        assert cell.data_type == "s" and cell.value == "'" + p
        assert ws.cell(i, 2).value == -3 and ws.cell(i, 2).data_type == "n"
        assert ws.cell(i, 4).value == "张三"


def test_csv_has_bom_and_neutralised_cells():
    data = to_csv(["文本", "数"], [[p, -1] for p in PAYLOADS])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert all(r[1] == "-1" for r in rows[1:])
