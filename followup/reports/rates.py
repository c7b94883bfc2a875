"""Follow-up figures computed from the records in one set-based query per question.

Definitions (one place; every page, export and ranking uses them):
- a discharge counts in the month of its local discharge date (Asia/Shanghai midnight);
- eligible = not died in hospital (离院方式 5); deceased discharges have no tasks;
- followed up = at least one level's task done; on time = a done task completed before its due_at;
- ward / hospital rates are per level (科室随访 / 院级随访), each over the eligible discharges;
- lost (失访) = eligible discharges with a lost task and no done task;
- needs data = eligible discharges not followed up whose tasks wait for the ward to complete a
  phone or 离院方式 (FollowupTask.needs_data): counted in `eligible`, never left out of it;
- satisfaction and opinions count in the month they were recorded (what was heard that month).

`group_by` is one of "ward", "hospital", "county", "city"; a 市直 hospital's "county" is the city
itself (it belongs to no county)."""
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import aliased

from ..core.clock import local_midnight
from ..extensions import db
from ..models import Discharge, FollowupTask, Hospital, Level, Region, TaskStatus
from ..models.call import SATISFACTION_DIMENSIONS, HospitalFollowup
from ..models.discharge import DISPOSITION_DIED
from ..models.opinion import Opinion

GROUPS = ("ward", "hospital", "county", "city")
COUNT_FIELDS = ("discharges", "deceased", "eligible", "followed", "on_time", "lost", "needs_data",
                "ward_done", "ward_on_time", "hospital_done", "hospital_on_time")
# rate name → numerator field; every rate is over `eligible`.
RATES = {"followup_rate": "followed", "on_time_rate": "on_time", "ward_rate": "ward_done",
         "ward_on_time_rate": "ward_on_time", "hospital_rate": "hospital_done",
         "hospital_on_time_rate": "hospital_on_time"}


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


def with_rates(row: dict) -> dict:
    """Add the rates (0–1, None when nothing is eligible) to a row of counts."""
    eligible = row.get("eligible") or 0
    for name, num in RATES.items():
        row[name] = (row[num] / eligible) if eligible else None
    return row


def rates(hospital_ids_select, start: date, end: date, group_by: str = "hospital") -> dict:
    """{key: counts and rates} for discharges dated in [start, end), grouped by ward, hospital,
    county (region id) or city (region id). Keys with no discharges are absent.

    One row per discharge without a GROUP BY per discharge: each level's task is joined on its
    own (a discharge has at most one task per level)."""
    analytic_transaction()
    w, h = aliased(FollowupTask), aliased(FollowupTask)
    # A task is never due before its discharge day, so earlier months' tasks can be skipped
    # before the join instead of after it (always true; it only helps the planner).
    not_before = local_midnight(start)

    def status(t):  # '' when the level has no task (deceased), so the conditions stay two-valued
        return func.coalesce(t.status, "")

    def done(t):
        return status(t) == TaskStatus.DONE

    def timely(t):
        return and_(done(t), func.coalesce(t.completed_at <= t.due_at, False))

    def n(cond):
        return func.sum(case((cond, 1), else_=0))
    any_done = or_(done(w), done(h))
    q = (select(func.count().label("discharges"), n(Discharge.disposition == DISPOSITION_DIED).label("deceased"),
                n(Discharge.disposition != DISPOSITION_DIED).label("eligible"),
                n(any_done).label("followed"), n(or_(timely(w), timely(h))).label("on_time"),
                n(and_(or_(status(w) == TaskStatus.LOST, status(h) == TaskStatus.LOST), ~any_done)).label("lost"),
                n(and_(or_(w.needs_data.is_not(None), h.needs_data.is_not(None)), ~any_done)).label("needs_data"),
                n(done(w)).label("ward_done"), n(timely(w)).label("ward_on_time"),
                n(done(h)).label("hospital_done"), n(timely(h)).label("hospital_on_time"))
         .select_from(Discharge)
         .outerjoin(w, and_(w.discharge_id == Discharge.id, w.level == Level.WARD, w.due_at >= not_before))
         .outerjoin(h, and_(h.discharge_id == Discharge.id, h.level == Level.HOSPITAL, h.due_at >= not_before))
         .where(Discharge.hospital_id.in_(hospital_ids_select),
                Discharge.discharge_date >= start, Discharge.discharge_date < end))
    q = _with_group(q, group_by, Discharge.hospital_id, Discharge.ward_id)
    out = {}
    for r in db.session.execute(q).mappings():
        row = {f: int(r[f] or 0) for f in COUNT_FIELDS}
        out[r["key"]] = with_rates(row)
    return out


def total(rows: dict) -> dict:
    """Sum of grouped counts, with its rates (e.g. a hospital's wards → the hospital)."""
    row = {f: sum(r[f] for r in rows.values()) for f in COUNT_FIELDS}
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


