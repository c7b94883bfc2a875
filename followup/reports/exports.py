"""The monthly summary and the commission table as Excel (one sheet per section, through the
shared safe writer) and the summary as PDF (WeasyPrint from the same Jinja data)."""
from urllib.parse import quote

from flask import Response, render_template
from flask_babel import gettext as _

from ..core.labels import CATEGORY_LABELS, ITEM_STATUS_LABELS, SATISFACTION_LABELS, SENTIMENT_LABELS
from ..models.call import SATISFACTION_DIMENSIONS
from .spreadsheet import Sheet, to_xlsx


def pct(rate):
    """A rate 0–1 as a percentage with one decimal, or None (no eligible discharges)."""
    return None if rate is None else round(rate * 100, 1)


def mean(x):
    return None if x is None else round(x, 2)


RATE_COLUMNS = ("followup_rate", "on_time_rate", "ward_rate", "ward_on_time_rate",
                "hospital_rate", "hospital_on_time_rate")


def rate_headers():
    return [_("Discharges"), _("Deceased"), _("Eligible"), _("Followed up"), _("Lost to follow-up"),
            _("Follow-up rate (%)"), _("On-time rate (%)"), _("Ward-level rate (%)"),
            _("Ward-level on-time (%)"), _("Hospital-level rate (%)"), _("Hospital-level on-time (%)")]


def rate_cells(r):
    return [r["discharges"], r["deceased"], r["eligible"], r["followed"], r["lost"],
            *[pct(r[c]) for c in RATE_COLUMNS]]


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
              [[r["ward"], *rate_cells(r)] for r in s["wards"]], widths=[16] + [12] * 11),
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
    html = render_template("qa/summary_pdf.html", s=s, **template_helpers())
    return HTML(string=html).write_pdf()


def commission_sheet(rows: list[dict], level: str) -> Sheet:
    return Sheet(_("Monthly evaluation"),
                 [_("Rank"), _("Hospital") if level == "hospital" else _("County"), _("Discharges"),
                  _("Eligible"), _("Follow-up rate (%)"), _("On-time rate (%)"), _("Satisfaction"),
                  _("Complaints"), _("Complaints per 1,000 discharges"), _("Open ledger items")],
                 [[r["rank"], r["name"], r["discharges"], r["eligible"], pct(r["followup_rate"]),
                   pct(r["on_time_rate"]), mean(r["satisfaction"]), r["complaints"],
                   mean(r["complaints_per_1000"]), r["open_items"]] for r in rows],
                 widths=[6, 24] + [12] * 8)


def template_helpers() -> dict:
    """What the summary templates (page and PDF) need besides the data."""
    return {"pct": pct, "mean": mean, "category_labels": CATEGORY_LABELS,
            "sentiment_labels": SENTIMENT_LABELS, "item_status_labels": ITEM_STATUS_LABELS,
            "sat_labels": SATISFACTION_LABELS, "dims": SATISFACTION_DIMENSIONS}


def download(body: bytes, mimetype: str, filename: str) -> Response:
    """An attachment named `filename` (Chinese kept via RFC 5987), never cached."""
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"report\"; filename*=UTF-8''{quote(filename)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp
