"""Follow-up figures computed from the records in one set-based query per question.

Definitions (one place; every page, export and ranking uses them):
- a discharge counts in the month of its local discharge date (Asia/Shanghai midnight);
- excluded by rule = died in hospital (离院方式 5; "deceased" in the rows): no tasks; eligible = the rest;
- every eligible discharge is in exactly one category (CATEGORIES, task_category): reached (a
  mandatory task done), a documented exception by kind (EXCEPTION_KINDS: died after discharge,
  do-not-call, refused, readmitted, invalid number after all numbers tried), lost (失访), needs
  data, overdue (open past its deadline), not yet due (open, deadline ahead);
- due = eligible − not yet due; follow-up rate = reached ÷ (due − documented exceptions); the raw
  rate = reached ÷ due; on time = a done task completed before its due_at;
- ward / hospital rates are per level (科室随访 / 院级随访), over the same base as the follow-up rate;
- plan tasks (随访方案) and review reminders are counted per plan by plan_rates, never here;
- satisfaction and opinions count in the month they were recorded (what was heard that month);
  satisfaction counts only answers given by the patient (HCAHPS), not by family or others.

`group_by` is one of "ward", "hospital", "county", "city"; a 市直 hospital's "county" is the city
itself (it belongs to no county)."""
from datetime import date, datetime

from sqlalchemy import String, and_, case, func, null, or_, select, text
from sqlalchemy.orm import aliased

from ..core.clock import local_midnight
from ..extensions import db
from ..models import Discharge, FollowupTask, Hospital, Level, Region, TaskStatus
from ..models.task import TaskKind
from ..models.call import SATISFACTION_DIMENSIONS, HospitalFollowup, Respondent
from ..models.discharge import DISPOSITION_DIED
from ..models.opinion import Opinion

GROUPS = ("ward", "hospital", "county", "city")

# --- what became of a discharge (or a plan task): one classification ------------------------
# A task's close reason → the documented exception it is (issue 13). The order is the precedence
# when the two tasks of a discharge disagree. A new close reason slots in here and every page,
# export and the commission table count it; a closed task whose reason is not listed counts as
# lost (no documented exception).
EXCEPTION_KINDS = {"deceased": "died_after_discharge", "do_not_call": "do_not_call", "refused": "refused",
                   "readmitted": "readmitted", "invalid_number": "invalid_number"}
EXCEPTIONS = tuple(dict.fromkeys(EXCEPTION_KINDS.values()))
# Every eligible discharge is in exactly one category; the order is the precedence (the best
# of its two tasks wins: one level reached is reached).
CATEGORIES = ("reached", *EXCEPTIONS, "lost", "needs_data", "overdue", "not_yet_due")
_NO_TASK = CATEGORIES.index("overdue")  # an eligible discharge without tasks is a miss

COUNT_FIELDS = ("discharges", "deceased", "eligible", *CATEGORIES, "due", "exceptions", "followed", "on_time",
                "ward_done", "ward_on_time", "hospital_done", "hospital_on_time")
# rate name → numerator field; every rate is over `base` = due − documented exceptions, except
# raw_rate (reached ÷ due, exceptions not set aside).
RATES = {"followup_rate": "followed", "on_time_rate": "on_time", "ward_rate": "ward_done",
         "ward_on_time_rate": "ward_on_time", "hospital_rate": "hospital_done",
         "hospital_on_time_rate": "hospital_on_time"}


def columns() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(counts, exception kinds, rates) every rate table shows, in order. "Needs data" only where
    tasks record missing data."""
    counts = ("discharges", "deceased", "eligible", "not_yet_due", "due", "reached", "exceptions", "lost",
              *(("needs_data",) if hasattr(FollowupTask, "needs_data") else ()), "overdue")
    return counts, EXCEPTIONS, ("followup_rate", "raw_rate", "on_time_rate", "ward_rate", "hospital_rate")


def task_category(t, now: datetime):
    """SQL: the index in CATEGORIES of what became of task `t` (an alias of FollowupTask) as of
    `now`; NULL when there is no task (an outer join found none)."""
    status = t.status
    finished = status.in_([TaskStatus.CLOSED.value, TaskStatus.LOST.value])
    whens = [(status == TaskStatus.DONE.value, CATEGORIES.index("reached"))]
    whens += [(and_(finished, t.close_reason == reason), CATEGORIES.index(kind))
              for reason, kind in EXCEPTION_KINDS.items()]
    whens.append((finished, CATEGORIES.index("lost")))
    needs_data = getattr(t, "needs_data", None)  # added by the imports-faults work (migration 0011)
    if needs_data is not None:
        whens.append((needs_data.is_not(None), CATEGORIES.index("needs_data")))
    whens.append((t.due_at <= now, CATEGORIES.index("overdue")))
    return case((status.is_(None), null()), *whens, else_=CATEGORIES.index("not_yet_due"))


def _best(a, b):
    """The better (lower) of two category indexes, a missing task counting as a miss."""
    a, b = func.coalesce(a, _NO_TASK), func.coalesce(b, _NO_TASK)
    return case((a <= b, a), else_=b)


def analytic_transaction() -> None:
    """PostgreSQL's JIT compiles these short aggregate queries for longer than they run (half of a
    city-wide month, measured in bench/summary.py): off for the rest of this transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def _group_key(group_by: str, hospital_col):
    """(key column, joins needed) for a grouping, from a hospital id column."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}, not {group_by!r}")
    region = aliased(Region)
    if group_by == "hospital":
        return hospital_col, None
    if group_by == "county":
        return Hospital.region_id, region
    return func.coalesce(region.parent_id, region.id), region  # city


def _with_group(q, group_by, hospital_col, ward_col=None):
    if group_by == "ward":
        return q.add_columns(ward_col.label("key")).group_by(ward_col)
    key, region = _group_key(group_by, hospital_col)
    if region is not None:
        q = q.join(Hospital, Hospital.id == hospital_col).join(region, region.id == Hospital.region_id)
    return q.add_columns(key.label("key")).group_by(key)


def _ratio(num, den):
    return (num / den) if den else None


def with_rates(row: dict) -> dict:
    """Add the derived counts and the rates (0–1, None when the denominator is 0) to a row of
    category counts: due = eligible − not yet due; the follow-up rate = reached ÷ (due −
    documented exceptions); the raw rate = reached ÷ due."""
    row["exceptions"] = sum(row[k] for k in EXCEPTIONS)
    row["due"] = row["eligible"] - row["not_yet_due"]
    row["followed"] = row["reached"]
    base = row["due"] - row["exceptions"]
    row["base"] = base
    for name, num in RATES.items():
        row[name] = _ratio(row[num], base)
    row["raw_rate"] = _ratio(row["reached"], row["due"])
    return row


def empty() -> dict:
    return with_rates({f: 0 for f in COUNT_FIELDS})


_STORED = ("discharges", "deceased", "eligible", *CATEGORIES, "on_time", "ward_done", "ward_on_time",
           "hospital_done", "hospital_on_time")


def rates(hospital_ids_select, start: date, end: date, group_by: str = "hospital", *, now: datetime,
          buckets: list[tuple[str, date]] | None = None) -> dict:
    """{key: counts and rates} for discharges dated in [start, end), as of `now`, grouped by
    ward, hospital, county (region id) or city (region id). Keys with no discharges are absent.
    With `buckets` [(label, first date after it), ...] in ascending order (months for a trend),
    keys are (key, label): one scan for the twelve months of a chart, same definitions.

    One row per discharge without a GROUP BY per discharge: each level's mandatory task is
    joined on its own (a discharge has one per level; plan tasks are counted by plan_rates)."""
    analytic_transaction()
    w, h = aliased(FollowupTask), aliased(FollowupTask)
    # A task is never due before its discharge day, so earlier months' tasks can be skipped
    # before the join instead of after it (always true; it only helps the planner).
    not_before = local_midnight(start)

    def done(t):
        return func.coalesce(t.status, "") == TaskStatus.DONE

    def timely(t):
        return and_(done(t), func.coalesce(t.completed_at <= t.due_at, False))

    def n(cond):
        return func.sum(case((cond, 1), else_=0))
    eligible = Discharge.disposition != DISPOSITION_DIED
    category = _best(task_category(w, now), task_category(h, now))
    q = (select(func.count().label("discharges"), n(Discharge.disposition == DISPOSITION_DIED).label("deceased"),
                n(eligible).label("eligible"),
                *[n(and_(eligible, category == i)).label(c) for i, c in enumerate(CATEGORIES)],
                n(or_(timely(w), timely(h))).label("on_time"),
                n(done(w)).label("ward_done"), n(timely(w)).label("ward_on_time"),
                n(done(h)).label("hospital_done"), n(timely(h)).label("hospital_on_time"))
         .select_from(Discharge)
         .outerjoin(w, and_(w.discharge_id == Discharge.id, w.level == Level.WARD, w.kind == TaskKind.MANDATORY,
                            w.due_at >= not_before))
         .outerjoin(h, and_(h.discharge_id == Discharge.id, h.level == Level.HOSPITAL, h.kind == TaskKind.MANDATORY,
                            h.due_at >= not_before))
         .where(Discharge.hospital_id.in_(hospital_ids_select),
                Discharge.discharge_date >= start, Discharge.discharge_date < end))
    if buckets:
        bucket = case(*[(Discharge.discharge_date < upper, label) for label, upper in buckets]).label("bucket")
        q = q.add_columns(bucket).group_by(bucket)
    q = _with_group(q, group_by, Discharge.hospital_id, Discharge.ward_id)
    out = {}
    for r in db.session.execute(q).mappings():
        out[(r["key"], r["bucket"]) if buckets else r["key"]] = with_rates({f: int(r[f] or 0) for f in _STORED})
    return out


def plan_rates(hospital_ids_select, start: date, end: date, *, now: datetime) -> dict:
    """{plan id (or "review" for review reminders): counts and rates} over the plan tasks of
    discharges dated in [start, end): each task is one call, classified as a discharge is."""
    analytic_transaction()
    t = aliased(FollowupTask)
    cat = task_category(t, now)
    key = func.coalesce(func.cast(t.plan_id, String), t.kind)
    q = (select(key.label("key"), func.count().label("eligible"),
                *[func.sum(case((cat == i, 1), else_=0)).label(c) for i, c in enumerate(CATEGORIES)],
                func.sum(case((and_(t.status == TaskStatus.DONE, t.completed_at <= t.due_at), 1), else_=0)).label("on_time"))
         .select_from(t).join(Discharge, Discharge.id == t.discharge_id)
         .where(t.kind != TaskKind.MANDATORY, t.hospital_id.in_(hospital_ids_select),
                Discharge.discharge_date >= start, Discharge.discharge_date < end)
         .group_by(key))
    out = {}
    for r in db.session.execute(q).mappings():
        row = {f: 0 for f in COUNT_FIELDS}
        row.update({f: int(r[f] or 0) for f in ("eligible", *CATEGORIES, "on_time")})
        row["discharges"] = row["eligible"]
        k = r["key"]
        out[int(k) if k.isdigit() else k] = with_rates(row)
    return out


def total(rows: dict) -> dict:
    """Sum of grouped counts, with its rates (e.g. a hospital's wards → the hospital)."""
    row = {f: sum(r[f] for r in rows.values()) for f in _STORED}
    return with_rates(row)


def satisfaction(hospital_ids_select, start: datetime, end: datetime, group_by: str = "hospital",
                 buckets: list[tuple[str, datetime]] | None = None) -> dict:
    """{key: {"n": records, "overall": mean, "doctors": mean, ...}} of hospital-level records
    made in [start, end) (aware UTC bounds; use clock.month_bounds). Unanswered dimensions
    (NULL) are left out of their mean. With `buckets` [(label, upper bound), ...] in ascending
    order, keys are (key, label): one scan for several months."""
    analytic_transaction()
    h, t = HospitalFollowup, FollowupTask
    cols = [func.count(h.id).label("n")] + [
        func.avg(getattr(h, f"sat_{d}")).label(d) for d in SATISFACTION_DIMENSIONS]
    q = (select(*cols).select_from(h).join(t, t.id == h.task_id)
         .where(t.hospital_id.in_(hospital_ids_select), t.level == Level.HOSPITAL,
                h.respondent == Respondent.PATIENT,  # HCAHPS: proxies' answers are not the patient's
                h.recorded_at >= start, h.recorded_at < end))
    if buckets:
        bucket = case(*[(h.recorded_at < upper, label) for label, upper in buckets]).label("bucket")
        q = q.add_columns(bucket).group_by(bucket)
    q = _with_group(q, group_by, t.hospital_id, t.ward_id)
    return {((r["key"], r["bucket"]) if buckets else r["key"]):
            {"n": r["n"], **{d: (float(r[d]) if r[d] is not None else None) for d in SATISFACTION_DIMENSIONS}}
            for r in db.session.execute(q).mappings()}


def opinion_counts(hospital_ids_select, start: datetime, end: datetime, group_by: str = "hospital") -> dict:
    """{key: {sentiment: n}} of opinions recorded in [start, end), by the hospital (not the
    department concerned) for hospital/county/city groupings."""
    q = (select(Opinion.sentiment, func.count().label("n")).select_from(Opinion)
         .where(Opinion.hospital_id.in_(hospital_ids_select),
                Opinion.recorded_at >= start, Opinion.recorded_at < end)
         .group_by(Opinion.sentiment))
    q = _with_group(q, group_by, Opinion.hospital_id, Opinion.ward_id)
    out: dict = {}
    for r in db.session.execute(q).mappings():
        out.setdefault(r["key"], {})[r["sentiment"]] = r["n"]
    return out


