"""The monthly summary and the commission table as Excel (one sheet per section, through the
shared safe writer) and the summary as PDF (WeasyPrint from the same Jinja data)."""
from urllib.parse import quote

from flask import Response, render_template
from flask_babel import gettext as _

from ..core.labels import (CATEGORY_LABELS, ITEM_STATUS_LABELS, OPINION_SOURCE_LABELS, RATE_DEFINITIONS,
                           RATE_LABELS, SATISFACTION_LABELS, SENTIMENT_LABELS)
from . import rates as R
from ..models.call import SATISFACTION_DIMENSIONS
from .spreadsheet import Chart, Sheet, to_xlsx


def pct(rate):
    """A rate 0–1 as a percentage with one decimal, or None (no eligible discharges)."""
    return None if rate is None else round(rate * 100, 1)


def mean(x):
    return None if x is None else round(x, 2)


def _rate_keys() -> list[str]:
    counts, kinds, rate_names = R.columns()
    return [*counts, *kinds, *rate_names, "ward_on_time_rate", "hospital_on_time_rate"]


def rate_headers():
    return [str(RATE_LABELS[k]) for k in _rate_keys()]


def rate_cells(r):
    """The figures of one row; a snapshot stored before a figure existed shows it empty."""
    return [pct(r.get(k)) if k.endswith("_rate") else r.get(k, "") for k in _rate_keys()]


def definitions_sheet() -> Sheet:
    return Sheet(_("Definitions"), [_("Definition")], [[str(d)] for d in RATE_DEFINITIONS], widths=[100])


def summary_sheets(s: dict) -> list[Sheet]:
    dims = [str(SATISFACTION_LABELS[d]) for d in SATISFACTION_DIMENSIONS]
    sat, led, op = s["satisfaction"], s["ledger"], s["opinions"]
    sheets = [
        Sheet(_("Overview"), [_("Item"), _("Value")], [
            [_("Hospital"), s["hospital"]["name"]], [_("Month"), s["month"]],
            *zip(rate_headers(), rate_cells(s["totals"])),
            [_("Satisfaction records"), sat["current"]["n"]],
            *[[_("Satisfaction: %(dim)s", dim=lbl), mean(sat["current"][d])]
              for lbl, d in zip(dims, SATISFACTION_DIMENSIONS)],
            [_("Opinions"), op["total"]],
            *[[str(SENTIMENT_LABELS[k]), v] for k, v in op["by_sentiment"].items()],
            [_("Open ledger items"), led["open"]], [_("Overdue ledger items"), led["overdue"]],
            [_("Carried over"), led["carried_over"]], [_("Opened this month"), led["opened"]],
            [_("Closed this month"), led["closed"]],
        ], widths=[28, 30]),
        Sheet(_("Wards"), [_("Department"), *rate_headers()],
              [[r["ward"], *rate_cells(r)] for r in s["wards"]], widths=[16] + [12] * len(rate_headers())),
        Sheet(_("Plans"), [_("Follow-up plan"), *rate_headers()],
              [[r["plan"] or _("Review reminders"), *rate_cells(r)] for r in s.get("plans", [])],
              widths=[20] + [12] * len(rate_headers())),
        definitions_sheet(),
        Sheet(_("Satisfaction"), [_("Month"), _("Records"), *dims],
              [[m, n, *[mean(sat["series"][d][i]) for d in SATISFACTION_DIMENSIONS]]
               for i, (m, n) in enumerate(zip(sat["months"], sat["n"]))]),
        Sheet(_("Satisfaction by ward"), [_("Department"), _("Records"), *dims],
              [[r["ward"], r["n"], *[mean(r[d]) for d in SATISFACTION_DIMENSIONS]]
               for r in s["satisfaction_by_ward"]]),
        Sheet(_("Opinions"), [_("Department"), *[str(CATEGORY_LABELS[c]) for c in op["categories"]], _("Total")],
              [[r["ward"] or _("Unassigned"), *[r["counts"].get(c, 0) for c in op["categories"]], r["total"]]
               for r in op["rows"]]),
    ]
    sheets += chart_sheets(s)
    sheets += quality_sheets(s.get("quality") or {})
    if s.get("words"):
        for key, title in (("complaints", _("Complaints")), ("praise", _("Praise"))):
            sheets.append(Sheet(title, [_("Recorded"), _("Department"), _("Category"), _("What the patient said"),
                                        _("Ledger")],
                                [[o["recorded_at"], o["ward"], str(CATEGORY_LABELS.get(o["category"], o["category"])),
                                  o["text"], str(ITEM_STATUS_LABELS[o["item_status"]]) if o["item_status"] else ""]
                                 for o in s[key]], widths=[17, 12, 14, 60, 12]))
    sheets.append(Sheet(_("Ledger"), [_("No."), _("Department"), _("Created"), _("Due"), _("Status"),
                                      _("Overdue"), _("Carried over"), _("Problem")],
                        [[i["id"], i["ward"], i["created"], i["due_date"], str(ITEM_STATUS_LABELS[i["status"]]),
                          _("yes") if i["overdue"] else "", _("yes") if i["carried_over"] else "",
                          i.get("problem", "")] for i in led["items"]], widths=[8, 12, 12, 12, 12, 8, 8, 60]))
    return sheets


def chart_sheets(s: dict) -> list[Sheet]:
    """The trends (12 months) and the opinions by category, each with native charts drawn from
    the sheet's own cells: the numbers are charts.trend_rows', as on the page and in the PDF."""
    from . import charts  # charts imports this module's number formats
    out = []
    trend = s.get("trend")
    if trend:
        lbl = charts.series_labels()
        out.append(Sheet(_("Trend"), charts.trend_headers(), charts.trend_rows(trend["months"], trend["hospital"]),
                         widths=[10] + [12] * 8,
                         charts=[Chart("line", _("Follow-up and on-time rate, last 12 months"), columns=(4, 5, 6),
                                       y_min=0, y_max=100),
                                 Chart("line", lbl["satisfaction"], columns=(7,), y_min=1, y_max=5)]))
        out.append(Sheet(_("Trend by department"), [_("Department"), *trend["months"]],
                         [[w["ward"] or _("Unassigned"), *charts.trend_figures(w)["followup_rate"]]
                          for w in trend["wards"]], widths=[16] + [9] * len(trend["months"]),
                         charts=[Chart("line", lbl["followup_rate"], by_row=True, y_min=0, y_max=100,
                                       width=800, height=360)]))
    out.append(Sheet(_("Opinions by category"), [_("Category"), _("Opinions")], charts.category_counts(s),
                     widths=[20, 10], charts=[Chart("bar", _("Opinions by category"), columns=(1,))]))
    return out


def quality_sheets(q: dict) -> list[Sheet]:
    """The call quality results, per caller (hospital only) and per department."""
    if not q.get("drawn"):
        return []
    header = [_("Sampled calls"), _("Reviewed"), _("Form complete (%)"), _("Guidance matched (%)"),
              _("Opinion verbatim (%)"), _("Call-backs"), _("Patient disagreed")]

    def cells(r):
        return [r["sampled"], r["reviewed"], pct(r["form_complete"]), pct(r["guidance_matched"]),
                pct(r["opinion_verbatim"]), r["callbacks"], r["callback_disagreed"]]
    out = []
    if q.get("by_caller"):
        out.append(Sheet(_("Call quality by caller"), [_("Caller"), *header],
                         [[r["name"], *cells(r)] for r in q["by_caller"]], widths=[16] + [12] * 7))
    out.append(Sheet(_("Call quality by department"), [_("Department"), *header],
                     [[r["name"], *cells(r)] for r in q["by_ward"]], widths=[16] + [12] * 7))
    return out


def summary_xlsx(s: dict) -> bytes:
    return to_xlsx(summary_sheets(s))


def summary_pdf(s: dict) -> bytes:
    from weasyprint import HTML  # heavy import: only when a PDF is asked for
    return HTML(string=summary_pdf_html(s)).write_pdf()


def summary_pdf_html(s: dict) -> str:
    """The PDF's HTML (charts as inline SVG): tested on its own, WeasyPrint only prints it."""
    from . import charts
    return render_template("qa/summary_pdf.html", s=s, charts=charts.pdf_charts(s), heat=charts.heat,
                           trend_figures=charts.trend_figures, **template_helpers())


def commission_sheet(rows: list[dict], level: str) -> Sheet:
    return Sheet(_("Monthly evaluation"),
                 [_("Rank"), _("Hospital") if level == "hospital" else _("County"), *rate_headers(),
                  _("Satisfaction"), _("Complaints"), _("Complaints per 1,000 discharges"), _("Open ledger items")],
                 [[r["rank"], r["name"], *rate_cells(r), mean(r["satisfaction"]), r["complaints"],
                   mean(r["complaints_per_1000"]), r["open_items"]] for r in rows],
                 widths=[6, 24] + [12] * (len(rate_headers()) + 4))


def template_helpers() -> dict:
    """What the summary templates (page and PDF) need besides the data."""
    from . import charts
    counts, kinds, rate_names = R.columns()
    return {"trend_rows": charts.trend_rows, "trend_headers": charts.trend_headers,"pct": pct, "mean": mean, "figure_value": figure_value, "figure_labels": figure_labels,
            "category_labels": CATEGORY_LABELS, "rate_labels": RATE_LABELS,
            "rate_counts": counts, "rate_kinds": kinds, "rate_names": rate_names, "rate_definitions": RATE_DEFINITIONS,
            "sentiment_labels": SENTIMENT_LABELS, "item_status_labels": ITEM_STATUS_LABELS,
            "sat_labels": SATISFACTION_LABELS, "dims": SATISFACTION_DIMENSIONS,
            "opinion_source_labels": OPINION_SOURCE_LABELS}


def download(body: bytes, mimetype: str, filename: str) -> Response:
    """An attachment named `filename` (Chinese kept via RFC 5987), never cached."""
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"report\"; filename*=UTF-8''{quote(filename)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- the commission's monthly notice (通报): PDF with an SVG chart, Excel with a native chart --

NOTICE_METRICS = ("followup_rate", "on_time_rate", "satisfaction", "complaints_per_1000",
                  "audit_consistency", "items_on_time")


def notice_headers():
    return [_("City rank"), _("County rank"), _("Hospital"), _("County"), _("Composite score"),
            _("Follow-up rate (%)"), _("On-time rate (%)"), _("Satisfaction"), _("Complaints per 1,000 discharges"),
            _("Audit consistency (%)"), _("Items closed on time (%)"), _("Bottom twice")]


def notice_cells(r) -> list:
    flag = _("city") if r["bottom_city_twice"] else (_("county") if r["bottom_county_twice"] else "")
    return [r["city_rank"], r["county_rank"], r["name"], r["county"], r["score"], pct(r["followup_rate"]),
            pct(r["on_time_rate"]), mean(r["satisfaction"]), mean(r["complaints_per_1000"]),
            pct(r["audit_consistency"]), pct(r["items_on_time"]), flag]


def notice_chart(rows: list[dict], width: int = 640, bar: int = 18) -> dict:
    """Horizontal bars of the composite scores (0–100), laid out here so the template only draws."""
    label_w, gap = 180, 6
    scale = (width - label_w - 50) / 100
    bars = [{"name": r["name"], "score": r["score"], "y": i * (bar + gap), "w": round((r["score"] or 0) * scale, 1),
             "flag": r["bottom_city_twice"] or r["bottom_county_twice"]}
            for i, r in enumerate(x for x in rows if x["score"] is not None)]
    return {"width": width, "height": max(len(bars), 1) * (bar + gap) + 20, "bar": bar, "label_w": label_w,
            "bars": bars, "ticks": [{"x": label_w + round(t * scale, 1), "t": t} for t in (0, 25, 50, 75, 100)]}


def notice_pdf(fig: dict, region_name: str) -> bytes:
    from weasyprint import HTML
    html = render_template("commission/notice_pdf.html", fig=fig, region_name=region_name,
                           chart=notice_chart(fig["rows"]), headers=notice_headers(), cells=notice_cells,
                           **template_helpers())
    return HTML(string=html).write_pdf()


def notice_xlsx(fig: dict, region_name: str) -> bytes:
    """The ranking as a sheet and a native bar chart of the composite scores beside it, then the
    corrections; every text cell through the formula-safe writer's rule."""
    import io

    import xlsxwriter

    from .spreadsheet import _write, neutralise
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F6"})
    ws = wb.add_worksheet(_("Notice")[:31])
    ws.write_string(0, 0, neutralise(_("%(region)s: follow-up evaluation %(month)s", region=region_name,
                                       month=fig["month"])), wb.add_format({"bold": True, "font_size": 14}))
    headers = notice_headers()
    for c, h in enumerate(headers):
        ws.write_string(2, c, neutralise(h), bold)
        ws.set_column(c, c, 24 if c == 2 else 12)
    for i, r in enumerate(fig["rows"], start=3):
        for c, v in enumerate(notice_cells(r)):
            _write(ws, i, c, v)
    last = 2 + len(fig["rows"])
    if fig["rows"]:
        chart = wb.add_chart({"type": "bar"})
        chart.add_series({"name": _("Composite score"), "categories": [ws.name, 3, 2, last, 2],
                          "values": [ws.name, 3, 4, last, 4], "data_labels": {"value": True}})
        chart.set_title({"name": _("Composite score")})
        chart.set_y_axis({"reverse": True})
        chart.set_x_axis({"min": 0, "max": 100})
        chart.set_legend({"none": True})
        chart.set_size({"width": 640, "height": max(240, 24 * len(fig["rows"]) + 80)})
        ws.insert_chart(last + 2, 2, chart)
    fx = wb.add_worksheet(_("Corrections")[:31])
    for c, h in enumerate([_("Hospital"), _("Figure"), _("Locked"), _("Current"), _("Difference")]):
        fx.write_string(0, c, neutralise(h), bold)
        fx.set_column(c, c, 20)
    row = 1
    for fix in fig["corrections"]:
        for ch in fix["changes"]:
            f = ch["field"]
            for c, v in enumerate([fix["name"], str(figure_labels().get(f, f)), figure_value(f, ch["locked"]),
                                   figure_value(f, ch["current"]), figure_value(f, ch["diff"])]):
                _write(fx, row, c, v)
            row += 1
    wb.close()
    return out.getvalue()


RATE_FIGURES = ("followup_rate", "on_time_rate", "audit_consistency", "items_on_time")


def figure_value(field: str, v):
    """A figure as shown: rates in percent, means to two decimals, counts as they are."""
    if v is None:
        return None
    return pct(v) if field in RATE_FIGURES else (v if field == "discharges" else mean(v))


def figure_labels() -> dict:
    return {"score": _("Composite score"), "followup_rate": _("Follow-up rate"), "on_time_rate": _("On-time rate"),
            "satisfaction": _("Satisfaction"), "complaints_per_1000": _("Complaints per 1,000 discharges"),
            "audit_consistency": _("Audit consistency"), "items_on_time": _("Items closed on time"),
            "discharges": _("Discharges")}
