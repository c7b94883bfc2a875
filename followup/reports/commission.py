"""The commission's monthly evaluation (月度测评、排名): one row per hospital (or per county, for
the city), with follow-up rate, on-time rate, satisfaction, complaints per 1,000 discharges and
open ledger items, ranked. Counts and rates only: never what a patient said."""
from datetime import datetime

from sqlalchemy import func, select

from ..core.clock import month_bounds
from ..extensions import db
from ..rectification.ledger import open_as_of
from ..models import Hospital, Region
from ..models.opinion import RectificationItem, Sentiment
from . import rates as R
from .monthly import date_bounds, parse_month

# metric → True when higher is better (the rank follows the sort metric).
METRICS = {"followup_rate": True, "on_time_rate": True, "satisfaction": True,
           "complaints_per_1000": False, "open_items": False}
LEVELS = ("hospital", "county")


def table(hospital_ids_select, month: str, *, now: datetime, level: str = "hospital",
          sort: str = "followup_rate") -> list[dict]:
    """Rows for the hospitals in `hospital_ids_select` (level "hospital") or their counties
    (level "county"; 市直 hospitals form the city's own row), sorted by `sort`, best first,
    with a competition rank (ties share a rank)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    if sort not in METRICS:
        raise ValueError(f"sort must be one of {tuple(METRICS)}")
    start, end = date_bounds(month)
    start_dt, end_dt = month_bounds(*parse_month(month))
    group = "hospital" if level == "hospital" else "county"
    counts = R.rates(hospital_ids_select, start, end, group, now=now)
    sat = R.satisfaction(hospital_ids_select, start_dt, end_dt, group)
    ops = R.opinion_counts(hospital_ids_select, start_dt, end_dt, group)
    items = _open_items(hospital_ids_select, min(end_dt, now), level)
    rows = []
    for key, name, city_direct in _names(hospital_ids_select, level):
        c = counts.get(key) or R.empty()
        complaints = ops.get(key, {}).get(Sentiment.COMPLAINT.value, 0)
        rows.append({
            **c, "id": key, "name": name, "city_direct": city_direct,
            "satisfaction": (sat.get(key) or {}).get("overall"), "sat_n": (sat.get(key) or {}).get("n", 0),
            "complaints": complaints,
            "complaints_per_1000": (complaints * 1000 / c["discharges"]) if c["discharges"] else None,
            "open_items": items.get(key, 0),
        })
    return rank(rows, sort)


def rank(rows: list[dict], metric: str) -> list[dict]:
    """Sort best first (missing values last) and number them; equal values share a rank."""
    higher = METRICS[metric]
    present = sorted((r for r in rows if r[metric] is not None),
                     key=lambda r: (-r[metric] if higher else r[metric], r["name"]))
    missing = sorted((r for r in rows if r[metric] is None), key=lambda r: r["name"])
    prev, prev_rank = object(), 0
    for i, r in enumerate(present, start=1):
        r["rank"] = prev_rank if r[metric] == prev else i
        prev, prev_rank = r[metric], r["rank"]
    for r in missing:
        r["rank"] = None
    return present + missing


def _names(hospital_ids_select, level):
    if level == "hospital":
        return db.session.execute(
            select(Hospital.id, Hospital.name, Region.level == "city").join(Region)
            .where(Hospital.id.in_(hospital_ids_select)).order_by(Hospital.name)).all()
    # A 市直 hospital's region is the city: its row is "the city's own hospitals".
    return db.session.execute(
        select(Region.id, Region.name, Region.level == "city").where(Region.id.in_(
            select(Hospital.region_id).where(Hospital.id.in_(hospital_ids_select))))
        .order_by(Region.name)).all()


def _open_items(hospital_ids_select, at, level) -> dict:
    RI = RectificationItem
    key = RI.hospital_id if level == "hospital" else Hospital.region_id
    q = (select(key, func.count()).select_from(RI).join(Hospital, Hospital.id == RI.hospital_id)
         .where(RI.hospital_id.in_(hospital_ids_select), open_as_of(at)).group_by(key))
    return dict(db.session.execute(q).all())
