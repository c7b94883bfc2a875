"""Follow-up figures computed from the records in one set-based query per question.

Definitions (one place; every page, export and ranking uses them):
- a discharge counts in the month of its local discharge date (Asia/Shanghai midnight);
- eligible = not died in hospital (离院方式 5); deceased discharges have no tasks;
- followed up = at least one level's task done; on time = a done task completed before its due_at;
- ward / hospital rates are per level (科室随访 / 院级随访), each over the eligible discharges;
- lost (失访) = eligible discharges with a lost task and no done task;
- satisfaction and opinions count in the month they were recorded (what was heard that month).

`group_by` is one of "ward", "hospital", "county", "city"; a 市直 hospital's "county" is the city
itself (it belongs to no county)."""
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Discharge, FollowupTask, Hospital, Level, Region, TaskStatus
from ..models.call import SATISFACTION_DIMENSIONS, HospitalFollowup
from ..models.discharge import DISPOSITION_DIED
from ..models.opinion import Opinion

GROUPS = ("ward", "hospital", "county", "city")
COUNT_FIELDS = ("discharges", "deceased", "eligible", "followed", "on_time", "lost",
                "ward_done", "ward_on_time", "hospital_done", "hospital_on_time")
# rate name → numerator field; every rate is over `eligible`.
RATES = {"followup_rate": "followed", "on_time_rate": "on_time", "ward_rate": "ward_done",
         "ward_on_time_rate": "ward_on_time", "hospital_rate": "hospital_done",
         "hospital_on_time_rate": "hospital_on_time"}


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


def _per_discharge(hospital_ids_select, start: date, end: date):
    """One row per discharge in [start, end): its level outcomes as 0/1 flags."""
    t = FollowupTask
    done = t.status == TaskStatus.DONE
    on_time = and_(done, t.completed_at <= t.due_at)

    def flag(cond):
        return func.max(case((cond, 1), else_=0))
    return (
        select(Discharge.id, Discharge.hospital_id, Discharge.ward_id,
               case((Discharge.disposition == DISPOSITION_DIED, 1), else_=0).label("died"),
               flag(done).label("done"), flag(on_time).label("on_time"),
               flag(t.status == TaskStatus.LOST).label("lost_any"),
               flag(and_(done, t.level == Level.WARD)).label("ward_done"),
               flag(and_(on_time, t.level == Level.WARD)).label("ward_on_time"),
               flag(and_(done, t.level == Level.HOSPITAL)).label("hospital_done"),
               flag(and_(on_time, t.level == Level.HOSPITAL)).label("hospital_on_time"))
        .select_from(Discharge).outerjoin(t, t.discharge_id == Discharge.id)
        .where(Discharge.hospital_id.in_(hospital_ids_select),
               Discharge.discharge_date >= start, Discharge.discharge_date < end)
        .group_by(Discharge.id, Discharge.hospital_id, Discharge.ward_id, Discharge.disposition)
        .subquery("per_discharge")
    )


def with_rates(row: dict) -> dict:
    """Add the rates (0–1, None when nothing is eligible) to a row of counts."""
    eligible = row.get("eligible") or 0
    for name, num in RATES.items():
        row[name] = (row[num] / eligible) if eligible else None
    return row


def rates(hospital_ids_select, start: date, end: date, group_by: str = "hospital") -> dict:
    """{key: counts and rates} for discharges dated in [start, end), grouped by ward, hospital,
    county (region id) or city (region id). Keys with no discharges are absent."""
    p = _per_discharge(hospital_ids_select, start, end)
    alive = 1 - p.c.died
    q = select(
        func.count().label("discharges"), func.sum(p.c.died).label("deceased"),
        func.sum(alive).label("eligible"),
        func.sum(p.c.done).label("followed"), func.sum(p.c.on_time).label("on_time"),
        func.sum(case((and_(p.c.lost_any == 1, p.c.done == 0), 1), else_=0)).label("lost"),
        func.sum(p.c.ward_done).label("ward_done"), func.sum(p.c.ward_on_time).label("ward_on_time"),
        func.sum(p.c.hospital_done).label("hospital_done"),
        func.sum(p.c.hospital_on_time).label("hospital_on_time"),
    ).select_from(p)
    q = _with_group(q, group_by, p.c.hospital_id, p.c.ward_id)
    out = {}
    for r in db.session.execute(q).mappings():
        row = {f: int(r[f] or 0) for f in COUNT_FIELDS}
        out[r["key"]] = with_rates(row)
    return out


def total(rows: dict) -> dict:
    """Sum of grouped counts, with its rates (e.g. a hospital's wards → the hospital)."""
    row = {f: sum(r[f] for r in rows.values()) for f in COUNT_FIELDS}
    return with_rates(row)


def satisfaction(hospital_ids_select, start: datetime, end: datetime, group_by: str = "hospital") -> dict:
    """{key: {"n": records, "overall": mean, "doctors": mean, ...}} of hospital-level records
    made in [start, end) (aware UTC bounds; use clock.month_bounds). Unanswered dimensions
    (NULL) are left out of their mean."""
    h, t = HospitalFollowup, FollowupTask
    cols = [func.count(h.id).label("n")] + [
        func.avg(getattr(h, f"sat_{d}")).label(d) for d in SATISFACTION_DIMENSIONS]
    q = (select(*cols).select_from(h).join(t, t.id == h.task_id)
         .where(t.hospital_id.in_(hospital_ids_select), h.recorded_at >= start, h.recorded_at < end))
    q = _with_group(q, group_by, t.hospital_id, t.ward_id)
    return {r["key"]: {"n": r["n"], **{d: (float(r[d]) if r[d] is not None else None)
                                       for d in SATISFACTION_DIMENSIONS}}
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


