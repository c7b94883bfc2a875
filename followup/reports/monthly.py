"""The monthly opinion summary of one hospital (每月意见汇总): rates per ward and for the hospital,
satisfaction with the months before, opinions by category × department, complaints and praise,
and the rectification ledger as it stood at the end of the month.

`build` returns plain JSON-able data: the page, the Excel and PDF exports and the stored snapshot
(MonthlySummary) all render the same dict. Every figure is computed from the records."""
import re
from datetime import date, datetime

from sqlalchemy import func, select

from ..core.clock import local, local_date, month_bounds
from ..extensions import db
from ..rectification.ledger import open_as_of, status_as_of
from ..models import Discharge, Hospital, Ward
from ..models.call import SATISFACTION_DIMENSIONS
from ..models.opinion import Category, Opinion, RectificationItem, Sentiment
from ..models.plan import FollowupPlan
from ..models.report import MonthlySummary
from . import rates as R

TREND_MONTHS = 12  # this month and the eleven before: the trend charts and tables


class MonthError(ValueError):
    pass


def parse_month(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise MonthError(f"month must look like 2026-11, not {text!r}")
    return int(m.group(1)), int(m.group(2))


def month_str(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift(month: str, n: int) -> str:
    y, m = parse_month(month)
    k = y * 12 + (m - 1) + n
    return month_str(k // 12, k % 12 + 1)


def current_month(now: datetime) -> str:
    t = local(now)
    return month_str(t.year, t.month)


def previous_month(now: datetime) -> str:
    return shift(current_month(now), -1)


FIRST_DAYS = 7  # early in a month with nothing discharged yet, QA opens on the month before


def default_month(hospital_id: int, now: datetime) -> str:
    """The month QA opens on: the month in progress, except in its first days while it has no
    discharges yet and the month before has some (on the 1st at 02:00 an empty page helps nobody)."""
    month = current_month(now)
    if local(now).day > FIRST_DAYS:
        return month

    def has_discharges(mo):
        start, end = date_bounds(mo)
        return db.session.scalar(select(Discharge.id).where(
            Discharge.hospital_id == hospital_id, Discharge.discharge_date >= start,
            Discharge.discharge_date < end).limit(1)) is not None
    before = shift(month, -1)
    return before if not has_discharges(month) and has_discharges(before) else month


def date_bounds(month: str) -> tuple[date, date]:
    y, m = parse_month(month)
    return date(y, m, 1), date.fromisoformat(shift(month, 1) + "-01")


def _one(hospital_id: int):
    return select(Hospital.id).where(Hospital.id == hospital_id)


def build(hospital_id: int, month: str, *, now: datetime, words: bool = True) -> dict:
    """The summary of `hospital_id` for `month` ("YYYY-MM"). words=False leaves out what
    patients said (complaint and praise texts, ledger problems): the auditors' view."""
    hospital = db.session.get(Hospital, hospital_id)
    y, m = parse_month(month)
    start_dt, end_dt = month_bounds(y, m)
    start, end = date_bounds(month)
    wards = {w.id: w for w in db.session.scalars(select(Ward).where(Ward.hospital_id == hospital_id))}
    ward_rows = R.rates(_one(hospital_id), start, end, "ward", now=now)
    sat_by_ward = R.satisfaction(_one(hospital_id), start_dt, end_dt, "ward")
    data = {
        "hospital": {"id": hospital.id, "name": hospital.name}, "month": month,
        "generated_at": now.isoformat(), "words": words,
        "totals": R.total(ward_rows),
        "wards": [{"ward_id": wid, "ward": _name(wards, wid), **row}
                  for wid, row in sorted(ward_rows.items(), key=lambda kv: _name(wards, kv[0]))],
        "plans": _plans(hospital_id, start, end, now),
        "satisfaction": _trend(hospital_id, month),
        "trend": _rate_trend(hospital_id, month, now, wards, ward_rows),
        "satisfaction_by_ward": [{"ward_id": wid, "ward": _name(wards, wid), **row}
                                 for wid, row in sorted(sat_by_ward.items(), key=lambda kv: _name(wards, kv[0]))],
        "opinions": _matrix(hospital_id, start_dt, end_dt, wards),
        "ledger": _ledger(hospital_id, start_dt, end_dt, now, wards, words),
    }
    data["quality"] = _quality(hospital_id, month, words)
    if words:
        data["complaints"] = _opinion_list(hospital_id, start_dt, end_dt, Sentiment.COMPLAINT, wards)
        data["praise"] = _opinion_list(hospital_id, start_dt, end_dt, Sentiment.PRAISE, wards)
    return data


def _quality(hospital_id: int, month: str, words: bool) -> dict:
    """The month's call quality control results; per caller (staff names) for the hospital only."""
    from ..quality.review import figures  # quality imports this module's month helpers
    q = figures(hospital_id, month)
    if not words:
        q["by_caller"] = []
    return q


def _plans(hospital_id: int, start: date, end: date, now: datetime) -> list[dict]:
    """Rates per follow-up plan (and review reminders), beside the mandatory calls' rates."""
    rows = R.plan_rates(_one(hospital_id), start, end, now=now)
    names = dict(db.session.execute(select(FollowupPlan.id, FollowupPlan.name).where(
        FollowupPlan.id.in_([k for k in rows if isinstance(k, int)]))).all())
    return [{"plan_id": k if isinstance(k, int) else None, "plan": names.get(k, ""), "review": k == "review", **row}
            for k, row in sorted(rows.items(), key=lambda kv: (not isinstance(kv[0], int), str(names.get(kv[0], kv[0]))))]


def _name(wards, wid):
    return wards[wid].name if wid in wards else ""


def _trend(hospital_id: int, month: str) -> dict:
    months = [shift(month, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    bounds = [month_bounds(*parse_month(mo)) for mo in months]
    rows = R.satisfaction(_one(hospital_id), bounds[0][0], bounds[-1][1],
                          buckets=[(mo, b[1]) for mo, b in zip(months, bounds)])
    per_month = {mo: rows.get((hospital_id, mo)) or {} for mo in months}
    return {"months": months,
            "n": [per_month[mo].get("n", 0) for mo in months],
            "series": {d: [per_month[mo].get(d) for mo in months] for d in SATISFACTION_DIMENSIONS},
            "current": per_month[month] or {"n": 0, **{d: None for d in SATISFACTION_DIMENSIONS}}}


TREND_FIELDS = ("due", "reached", "exceptions", "followup_rate", "raw_rate", "on_time_rate")


def _rate_trend(hospital_id: int, month: str, now: datetime, wards, this_month: dict) -> dict:
    """Twelve months of the follow-up, raw and on-time rates (by discharge month, rates.py's
    definitions) and the overall satisfaction (by call month), for the hospital and each
    department: what the trend charts draw, in the page, the PDF and the Excel. `this_month`
    is the month's own rows by ward (already computed for the tables: not counted twice)."""
    months = [shift(month, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    first, last = date_bounds(months[0])[0], date_bounds(month)[0]
    rows = R.rates(_one(hospital_id), first, last, "ward", now=now,
                   buckets=[(mo, date_bounds(mo)[1]) for mo in months[:-1]])
    rows.update({(wid, month): row for wid, row in this_month.items()})
    bounds = [month_bounds(*parse_month(mo)) for mo in months]
    sat_buckets = [(mo, b[1]) for mo, b in zip(months, bounds)]
    sat_h = R.satisfaction(_one(hospital_id), bounds[0][0], bounds[-1][1], buckets=sat_buckets)
    sat_w = R.satisfaction(_one(hospital_id), bounds[0][0], bounds[-1][1], "ward", buckets=sat_buckets)

    def series(per_month: dict, sat: dict) -> dict:
        out = {f: [(per_month.get(mo) or R.empty())[f] for mo in months] for f in TREND_FIELDS}
        out["satisfaction"] = [(sat.get(mo) or {}).get("overall") for mo in months]
        out["satisfaction_n"] = [(sat.get(mo) or {}).get("n", 0) for mo in months]
        return out
    by_ward: dict = {}
    for (wid, mo), row in rows.items():
        by_ward.setdefault(wid, {})[mo] = row
    hospital = {mo: R.total({wid: r[mo] for wid, r in by_ward.items() if mo in r}) for mo in months}
    ward_ids = sorted(set(by_ward) | {wid for wid, _ in sat_w}, key=lambda wid: _name(wards, wid))
    return {"months": months,
            "hospital": series(hospital, {mo: sat_h.get((hospital_id, mo)) for mo in months}),
            "wards": [{"ward_id": wid, "ward": _name(wards, wid),
                       **series(by_ward.get(wid, {}), {mo: sat_w.get((wid, mo)) for mo in months})}
                      for wid in ward_ids]}


def _in_month(hospital_id, start_dt, end_dt):
    return (Opinion.hospital_id == hospital_id, Opinion.recorded_at >= start_dt, Opinion.recorded_at < end_dt)


def _matrix(hospital_id, start_dt, end_dt, wards) -> dict:
    """Opinions by department concerned × category, and by sentiment."""
    counts = db.session.execute(
        select(Opinion.ward_id, Opinion.category, Opinion.sentiment, func.count())
        .where(*_in_month(hospital_id, start_dt, end_dt))
        .group_by(Opinion.ward_id, Opinion.category, Opinion.sentiment)).all()
    rows: dict = {}
    by_sentiment = {s.value: 0 for s in Sentiment}
    by_category = {c.value: 0 for c in Category}
    for wid, cat, sentiment, n in counts:
        row = rows.setdefault(wid, {"ward_id": wid, "ward": _name(wards, wid), "counts": {}, "total": 0})
        row["counts"][cat] = row["counts"].get(cat, 0) + n
        row["total"] += n
        by_sentiment[sentiment] = by_sentiment.get(sentiment, 0) + n
        by_category[cat] = by_category.get(cat, 0) + n
    return {"categories": [c.value for c in Category], "by_sentiment": by_sentiment,
            "by_category": by_category, "total": sum(by_sentiment.values()),
            "rows": sorted(rows.values(), key=lambda r: (-r["total"], r["ward"]))}


def _opinion_list(hospital_id, start_dt, end_dt, sentiment, wards) -> list[dict]:
    items = dict(db.session.execute(
        select(RectificationItem.opinion_id, RectificationItem.status)
        .join(Opinion, Opinion.id == RectificationItem.opinion_id)
        .where(*_in_month(hospital_id, start_dt, end_dt), Opinion.sentiment == sentiment)).all())
    rows = db.session.scalars(select(Opinion).where(*_in_month(hospital_id, start_dt, end_dt),
                                                    Opinion.sentiment == sentiment)
                              .order_by(Opinion.recorded_at, Opinion.id)).all()
    return [{"id": o.id, "recorded_at": local(o.recorded_at).strftime("%Y-%m-%d %H:%M"),
             "ward": _name(wards, o.ward_id), "category": o.category, "text": o.text, "source": o.source,
             "item_status": items.get(o.id)} for o in rows]


def _ledger(hospital_id, start_dt, end_dt, now, wards, words) -> dict:
    """The ledger at the end of the month (or now, for the current month): items still open
    carry over from earlier months; overdue = past due and not closed by then."""
    as_of = min(end_dt, now)
    as_of_day = local_date(as_of)
    RI = RectificationItem
    items = db.session.scalars(select(RI).where(RI.hospital_id == hospital_id, open_as_of(as_of))
                               .order_by(RI.due_date, RI.id)).all()
    opened = db.session.scalar(select(func.count()).select_from(RI).where(
        RI.hospital_id == hospital_id, RI.created_at >= start_dt, RI.created_at < end_dt))
    closed = db.session.scalar(select(func.count()).select_from(RI).where(
        RI.hospital_id == hospital_id, RI.closed_at >= start_dt, RI.closed_at < end_dt))
    statuses = status_as_of([it.id for it in items], as_of)
    listed = []
    for it in items:
        row = {"id": it.id, "ward": _name(wards, it.ward_id), "due_date": it.due_date.isoformat(),
               "created": local(it.created_at).strftime("%Y-%m-%d"),
               "status": statuses.get(it.id, it.status),
               "overdue": it.due_date < as_of_day,
               "carried_over": it.created_at < start_dt}
        if words:
            row["problem"] = it.problem
        listed.append(row)
    return {"as_of": as_of_day.isoformat(), "open": len(listed),
            "overdue": sum(1 for r in listed if r["overdue"]),
            "carried_over": sum(1 for r in listed if r["carried_over"]),
            "opened": opened, "closed": closed, "items": listed}


def store(hospital_id: int, month: str, *, now: datetime, user=None) -> MonthlySummary:
    """Generate and keep the summary (a re-run replaces the month's snapshot). Flushes."""
    data = build(hospital_id, month, now=now)
    row = db.session.scalar(select(MonthlySummary).where(MonthlySummary.hospital_id == hospital_id,
                                                         MonthlySummary.month == month))
    if row is None:
        row = MonthlySummary(hospital_id=hospital_id, month=month)
        db.session.add(row)
    row.data, row.generated_at, row.generated_by_id = data, now, getattr(user, "id", None)
    db.session.flush()
    return row
