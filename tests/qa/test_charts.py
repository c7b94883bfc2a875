"""The summary's charts (issue 15): twelve months of rates and satisfaction per hospital and
department, and opinions by category; the page's chart data, the PDF's SVG and the Excel's
native charts all carry the numbers of the tables beside them."""
import html
import io
import json
import re
import zipfile

import openpyxl

from followup.reports import charts, exports, monthly
from followup.reports import rates as R

from .conftest import local

NOW = local(2026, 12, 3)


def _one_month(hospital_id, month):
    start, end = monthly.date_bounds(month)
    from followup.models import Hospital
    from sqlalchemy import select
    return R.total(R.rates(select(Hospital.id).where(Hospital.id == hospital_id), start, end, "ward", now=NOW))


def test_each_trend_month_has_the_rates_of_that_month_computed_on_its_own(november):
    h = november.world.hospital_a.id
    s = monthly.build(h, "2026-11", now=NOW)
    trend = s["trend"]
    assert len(trend["months"]) == 12 and trend["months"][-1] == "2026-11" and trend["months"][0] == "2025-12"
    for i, month in enumerate(trend["months"]):
        alone = _one_month(h, month)
        for key in ("due", "reached", "exceptions", "followup_rate", "raw_rate", "on_time_rate"):
            assert trend["hospital"][key][i] == alone[key], (month, key)
    # the month of the summary is its totals row, to the digit
    for key in ("followup_rate", "raw_rate", "on_time_rate", "due"):
        assert trend["hospital"][key][-1] == s["totals"][key]
    assert trend["hospital"]["satisfaction"][-1] == s["satisfaction"]["current"]["overall"] == 4.0
    # October's two discharges are in the October column; the department rows split the hospital
    assert _one_month(h, "2026-10")["discharges"] == 2
    by_ward = {w["ward"]: w for w in trend["wards"]}
    assert sum(w["due"][-1] for w in trend["wards"]) == s["totals"]["due"]
    assert by_ward["心内科"]["followup_rate"][-1] == next(r for r in s["wards"] if r["ward"] == "心内科")["followup_rate"]


def _table(body, caption):
    """The rows of the table that follows `caption` on the page, as text cells."""
    part = body[body.index(caption):]
    part = part[:part.index("</table>")]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.S) if "<td" in row]


def _num(text):
    return None if text in ("—", "") else float(text)


def test_the_pages_chart_data_equals_the_trend_table_on_the_page(november, as_user):
    body = as_user(november.world.qa).get("/qa/summary?month=2026-11").get_data(as_text=True)
    data = json.loads(html.unescape(re.search(r'data-charts="([^"]*)"', body).group(1)))
    table = _table(body, "近12个月趋势")
    assert [r[0] for r in table] == data["trendMonths"]
    hospital = data["units"][0]
    assert hospital["name"] == "全院" and len(data["units"]) == 1 + 2  # the hospital, 心内科, 骨科
    for col, key in ((4, "followup_rate"), (5, "raw_rate"), (6, "on_time_rate"), (7, "satisfaction")):
        assert [_num(r[col]) for r in table] == hospital[key], key
    assert hospital["followup_rate"][-1] == 66.7 and hospital["on_time_rate"][-1] == 33.3
    # opinions by category: every category, the month's counts
    cats = dict(zip(data["categories"], data["categoryCounts"]))
    assert sum(cats.values()) == 3 and len(cats) == len(november_categories())
    assert '<option value="1">' in body  # a department can be chosen for the trend chart


def november_categories():
    from followup.models.opinion import Category
    return list(Category)


def test_the_excel_holds_native_charts_drawn_from_its_own_trend_sheet(november, as_user):
    data = as_user(november.world.qa).get("/qa/summary.xlsx?month=2026-11").data
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    chart_parts = sorted(n for n in names if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
    assert len(chart_parts) == 4  # rates and satisfaction trend, departments, opinions by category
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml").decode()
    assert "趋势!$E$2:$E$13" in xml and "<c:lineChart>" in xml
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    rows = list(wb["趋势"].iter_rows(min_row=2, max_row=13, values_only=True))
    assert [r[4] for r in rows] == charts.trend_figures(s["trend"]["hospital"])["followup_rate"]
    assert [list(r) for r in rows] == [[v for v in row] for row in charts.trend_rows(s["trend"]["months"],
                                                                                     s["trend"]["hospital"])]
    assert len(wb["趋势"]._charts) == 2 and len(wb["意见建议分类"]._charts) == 1


def test_the_pdf_draws_the_trends_as_svg_and_prints(november, app, as_user):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    with app.test_request_context():
        page = exports.summary_pdf_html(s)
    assert page.count("<svg") == 3 and "<polyline" in page and "近12个月趋势" in page
    # the line's last point is the month's follow-up rate: 66.7% of the 0–100 scale
    layout = charts.pdf_charts(s)["rates"]
    follow = layout["lines"][0]
    last_y = follow["dots"][-1][1]
    assert abs((layout["top"] + layout["plot_h"] - last_y) / layout["plot_h"] * 100 - 66.7) < 0.1
    resp = as_user(november.world.qa).get("/qa/summary.pdf?month=2026-11")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")


def test_a_snapshot_stored_before_the_trends_still_exports(november):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    del s["trend"]
    wb = openpyxl.load_workbook(io.BytesIO(exports.summary_xlsx(s)), read_only=True)
    assert "趋势" not in wb.sheetnames and "意见建议分类" in wb.sheetnames
    assert charts.page_data(s)["units"] == []
