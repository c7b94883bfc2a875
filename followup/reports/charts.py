"""The summary's charts as numbers and as drawings: one function turns the summary's data into
the figures every chart shows (percent with one decimal, means with two), so the page's ECharts,
the PDF's SVG and the Excel's native charts draw the same numbers as the tables beside them.
The SVG layouts are computed here so the templates only draw (no script in a PDF)."""
from flask_babel import gettext as _

from ..core.labels import CATEGORY_LABELS, RATE_LABELS, SATISFACTION_LABELS
from .exports import mean, pct

RATE_SERIES = ("followup_rate", "raw_rate", "on_time_rate")
COLOURS = {"followup_rate": "#0b6e4f", "raw_rate": "#93a3b8", "on_time_rate": "#2563eb", "satisfaction": "#b54708"}


def series_labels() -> dict:
    return {**{k: str(RATE_LABELS[k]) for k in RATE_SERIES}, "satisfaction": _("Overall satisfaction (1–5)")}


def trend_figures(unit: dict) -> dict:
    """{series: [12 values]} of one unit (the hospital or a department) of data["trend"]:
    the numbers the trend table prints and the charts draw."""
    out = {k: [pct(v) for v in unit[k]] for k in RATE_SERIES}
    out["satisfaction"] = [mean(v) for v in unit["satisfaction"]]
    return out


def trend_rows(months: list[str], unit: dict) -> list[list]:
    """The trend table of one unit, a row per month: month, due, reached, exceptions, the three
    rates (%), satisfaction, satisfaction records."""
    fig = trend_figures(unit)
    return [[mo, unit["due"][i], unit["reached"][i], unit["exceptions"][i],
             *[fig[k][i] for k in RATE_SERIES], fig["satisfaction"][i], unit["satisfaction_n"][i]]
            for i, mo in enumerate(months)]


def trend_headers() -> list[str]:
    lbl = series_labels()
    return [_("Month"), *[str(RATE_LABELS[k]) for k in ("due", "reached", "exceptions")],
            *[lbl[k] for k in RATE_SERIES], lbl["satisfaction"], _("Satisfaction records")]


def category_counts(s: dict) -> list[tuple[str, int]]:
    """Opinions of the month by category (label, count), every category, in the model's order."""
    op = s["opinions"]
    return [(str(CATEGORY_LABELS.get(c, c)), op["by_category"].get(c, 0)) for c in op["categories"]]


def page_data(s: dict) -> dict:
    """What the summary page's ECharts draw (JSON): the hospital's and each department's trend,
    and the opinions by category. Old snapshots without a trend give an empty trend."""
    trend = s.get("trend")
    units = []
    if trend:
        units = [{"name": _("Whole hospital"), **trend_figures(trend["hospital"])}]
        units += [{"name": w["ward"] or _("Unassigned"), **trend_figures(w)} for w in trend["wards"]]
    cats = category_counts(s)
    sat = s["satisfaction"]
    return {"months": sat["months"], "series": {d: [mean(v) for v in vals] for d, vals in sat["series"].items()},
            "dimLabels": {d: str(v) for d, v in SATISFACTION_LABELS.items()},
            "wards": [r["ward"] for r in s["wards"]],
            "rates": {"followup": [pct(r["followup_rate"]) for r in s["wards"]],
                      "onTime": [pct(r["on_time_rate"]) for r in s["wards"]]},
            "labels": {"followup": str(RATE_LABELS["followup_rate"]), "onTime": str(RATE_LABELS["on_time_rate"])},
            "trendMonths": trend["months"] if trend else [], "units": units,
            "seriesLabels": series_labels(),
            "categories": [c for c, _n in cats], "categoryCounts": [n for _c, n in cats],
            "opinionsLabel": _("Opinions")}


# --- SVG layouts for the PDF -------------------------------------------------------------------

def line_chart(months: list[str], series: list[tuple[str, list, str]], *, y_min: float, y_max: float,
               width: int = 480, height: int = 200, ticks: tuple = ()) -> dict:
    """Lines over months; `series` [(label, values or None, colour)]; a gap where a value is
    None (no discharges due, no records). Coordinates in the SVG's own units."""
    left, right, top, bottom = 36, 22, 22, 22
    pw, ph = width - left - right, height - top - bottom
    step = pw / max(len(months) - 1, 1)

    def y(v):
        return round(top + ph - (min(max(v, y_min), y_max) - y_min) / (y_max - y_min) * ph, 1)
    lines = []
    for label, values, colour in series:
        segments, current, dots = [], [], []
        for i, v in enumerate(values):
            if v is None:
                if current:
                    segments.append(current)
                current = []
                continue
            pt = (round(left + i * step, 1), y(v))
            current.append(pt)
            dots.append(pt)
        if current:
            segments.append(current)
        lines.append({"label": label, "colour": colour, "dots": dots,
                      "paths": [" ".join(f"{x},{yy}" for x, yy in seg) for seg in segments]})
    return {"width": width, "height": height, "left": left, "top": top, "plot_w": pw, "plot_h": ph,
            "x_labels": [{"x": round(left + i * step, 1), "text": mo[2:]} for i, mo in enumerate(months)],
            "y_ticks": [{"y": y(t), "text": f"{t:g}"} for t in (ticks or (y_min, y_max))],
            "lines": lines,
            "legend": [{"x": left + i * 120, "label": s[0], "colour": s[2]} for i, s in enumerate(series)]}


def bar_chart(items: list[tuple[str, int]], *, width: int = 480, bar: int = 14) -> dict:
    """Horizontal bars (label, count), scaled to the largest."""
    label_w, gap = 110, 5
    top = max((n for _l, n in items), default=0) or 1
    scale = (width - label_w - 40) / top
    bars = [{"label": label, "n": n, "y": i * (bar + gap), "w": round(n * scale, 1)}
            for i, (label, n) in enumerate(items)]
    return {"width": width, "height": max(len(bars), 1) * (bar + gap) + 4, "bar": bar, "label_w": label_w,
            "bars": bars}


def pdf_charts(s: dict) -> dict:
    """The PDF's charts: the hospital's rate and satisfaction trends, and opinions by category."""
    trend = s.get("trend")
    out = {"categories": bar_chart(category_counts(s))}
    if trend:
        fig, lbl = trend_figures(trend["hospital"]), series_labels()
        out["rates"] = line_chart(trend["months"], [(lbl[k], fig[k], COLOURS[k]) for k in RATE_SERIES],
                                  y_min=0, y_max=100, ticks=(0, 25, 50, 75, 100))
        out["satisfaction"] = line_chart(trend["months"], [(lbl["satisfaction"], fig["satisfaction"],
                                                            COLOURS["satisfaction"])],
                                         y_min=1, y_max=5, ticks=(1, 2, 3, 4, 5))
    return out


def heat(rate) -> str:
    """A cell colour for a follow-up rate (percent) in the department × month table."""
    if rate is None:
        return "#ffffff"
    return "#d1fadf" if rate >= 95 else ("#fef0c7" if rate >= 80 else "#fee4e2")
