"""The monthly summary and the commission table as Excel (one sheet per section, through the
shared safe writer) and the summary as PDF (WeasyPrint from the same Jinja data)."""
from urllib.parse import quote

from flask import Response, render_template
from flask_babel import gettext as _

from ..core.labels import (CATEGORY_LABELS, ITEM_STATUS_LABELS, OPINION_SOURCE_LABELS, RATE_DEFINITIONS,
                           RATE_LABELS, SATISFACTION_LABELS, SENTIMENT_LABELS)
from . import rates as R
from ..models.call import SATISFACTION_DIMENSIONS
from .spreadsheet import Sheet, to_xlsx


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


def summary_xlsx(s: dict) -> bytes:
    return to_xlsx(summary_sheets(s))


def summary_pdf(s: dict) -> bytes:
    from weasyprint import HTML  # heavy import: only when a PDF is asked for
    html = render_template("qa/summary_pdf.html", s=s, **template_helpers())
    return HTML(string=html).write_pdf()


def commission_sheet(rows: list[dict], level: str) -> Sheet:
    return Sheet(_("Monthly evaluation"),
                 [_("Rank"), _("Hospital") if level == "hospital" else _("County"), *rate_headers(),
                  _("Satisfaction"), _("Complaints"), _("Complaints per 1,000 discharges"), _("Open ledger items")],
                 [[r["rank"], r["name"], *rate_cells(r), mean(r["satisfaction"]), r["complaints"],
                   mean(r["complaints_per_1000"]), r["open_items"]] for r in rows],
                 widths=[6, 24] + [12] * (len(rate_headers()) + 4))


def template_helpers() -> dict:
    """What the summary templates (page and PDF) need besides the data."""
    counts, kinds, rate_names = R.columns()
    return {"pct": pct, "mean": mean, "category_labels": CATEGORY_LABELS, "rate_labels": RATE_LABELS,
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
