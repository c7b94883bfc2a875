"""The commission's monthly evaluation (月度测评、排名): one row per hospital (or per county, for
the city), with follow-up rate, on-time rate, satisfaction, complaints per 1,000 discharges and
open ledger items, ranked. Counts and rates only: never what a patient said."""
import copy
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from ..core import audit
from ..core.clock import local_date, local_midnight, month_bounds
from ..extensions import db
from ..rectification.ledger import open_as_of
from ..models import Hospital, Region
from ..models.opinion import RectificationItem, Sentiment
from ..models.sample import Classification, SampledRecord
from ..models.scoring import CommissionSnapshot
from . import rates as R
from . import scoring
from .monthly import date_bounds, parse_month, shift

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


# --- the composite score, ranking, bottom-twice flag and the monthly lock ----------------------
# A month's figures are locked on the 3rd of the next month (每月3日前报上月工作): a snapshot of
# every hospital of the city, written by the daily job or by the first view after that moment.
# After the lock the notice shows the locked figures; later changes in the records appear as
# corrections (locked, current, difference), computed with the locked weights.

LOCK_DAY = 3
COMPARED = ("score", "followup_rate", "on_time_rate", "satisfaction", "complaints_per_1000",
            "audit_consistency", "items_on_time", "discharges")


def lock_at(month: str) -> datetime:
    y, m = parse_month(shift(month, 1))
    return local_midnight(date(y, m, LOCK_DAY))


def city_hospitals(city_id: int):
    counties = select(Region.id).where(Region.parent_id == city_id)
    return select(Hospital.id).where((Hospital.region_id == city_id) | Hospital.region_id.in_(counties))


def _audit_consistency(ids, start_dt, end_dt) -> dict:
    """Share of the auditors' verifiable calls that found the hospital's record true."""
    SR, C = SampledRecord, Classification
    q = (select(SR.hospital_id, func.count().filter(SR.classification == C.CONSISTENT), func.count())
         .where(SR.hospital_id.in_(ids), SR.recorded_at >= start_dt, SR.recorded_at < end_dt,
                SR.classification.in_([C.CONSISTENT, C.SUSPECTED_FALSE, C.LOST_BUT_REACHABLE]))
         .group_by(SR.hospital_id))
    return {h: ok / n for h, ok, n in db.session.execute(q) if n}


def _items_on_time(ids, month: str, now: datetime) -> dict:
    """Share of the ledger items due in the month that were closed by the end of their due day
    (local). An item still open whose due day is not over yet is not judged."""
    start, end = date_bounds(month)
    RI = RectificationItem
    today = local_date(now)
    counts: dict = {}
    for hid, due, closed in db.session.execute(select(RI.hospital_id, RI.due_date, RI.closed_at).where(
            RI.hospital_id.in_(ids), RI.due_date >= start, RI.due_date < end)):
        in_time = closed is not None and closed < local_midnight(due + timedelta(days=1))
        if closed is None and due >= today:
            continue
        ok, n = counts.get(hid, (0, 0))
        counts[hid] = (ok + in_time, n + 1)
    return {h: ok / n for h, (ok, n) in counts.items()}


def month_rows(city_id: int, month: str, *, now: datetime, settings: dict) -> list[dict]:
    """Every hospital of the city with its figures, composite score and ranks (city, county)."""
    ids = city_hospitals(city_id)
    start_dt, end_dt = month_bounds(*parse_month(month))
    regions = dict(db.session.execute(select(Hospital.id, Hospital.region_id).where(Hospital.id.in_(ids))).all())
    region_names = dict(db.session.execute(select(Region.id, Region.name).where(Region.id.in_(set(regions.values())))).all())
    consistency, on_time = _audit_consistency(ids, start_dt, end_dt), _items_on_time(ids, month, now)
    rows = table(ids, month, now=now, level="hospital")
    for r in rows:
        r.pop("rank", None)
        r["region_id"] = regions[r["id"]]
        r["county"] = region_names.get(r["region_id"], "")
        r["audit_consistency"], r["items_on_time"] = consistency.get(r["id"]), on_time.get(r["id"])
        r["score"] = scoring.composite(r, settings["weights"], settings["complaints_cap"])
    scoring.competition_rank(rows, "score", "city_rank")
    for group in _by_region(rows).values():
        scoring.competition_rank(group, "score", "county_rank")
    return sorted(rows, key=lambda r: (r["city_rank"] is None, r["city_rank"] or 0, r["name"]))


def _by_region(rows) -> dict:
    groups: dict = {}
    for r in rows:
        groups.setdefault(r["region_id"], []).append(r)
    return groups


def snapshot(city_id: int, month: str) -> CommissionSnapshot | None:
    return db.session.scalar(select(CommissionSnapshot).where(CommissionSnapshot.region_id == city_id,
                                                              CommissionSnapshot.month == month))


def lock(city_id: int, month: str, *, now: datetime) -> CommissionSnapshot:
    """Write the month's snapshot once (idempotent), not before the lock moment. Flushes."""
    existing = snapshot(city_id, month)
    if existing is not None:
        return existing
    if now < lock_at(month):
        raise ValueError(f"{month} is locked from {lock_at(month).isoformat()}")
    settings = scoring.settings(city_id)
    row = CommissionSnapshot(region_id=city_id, month=month, locked_at=now,
                             data={"settings": settings, "rows": month_rows(city_id, month, now=now, settings=settings)})
    db.session.add(row)
    db.session.flush()
    audit.record("commission.lock", object_type="region", object_id=city_id, now=now, detail={"month": month})
    return row


def _settled(city_id: int, month: str, now: datetime):
    """(snapshot or None, rows): the locked figures once due (locking them on first view)."""
    snap = snapshot(city_id, month)
    if snap is None and now >= lock_at(month):
        snap = lock(city_id, month, now=now)
    if snap is not None:
        return snap, copy.deepcopy(snap.data["rows"])  # the page marks rows; the snapshot stays as locked
    return None, month_rows(city_id, month, now=now, settings=scoring.settings(city_id))


def corrections(locked: list[dict], current: list[dict]) -> list[dict]:
    """Per hospital, the figures that changed since the lock: locked, current, difference."""
    now_by_id = {r["id"]: r for r in current}
    out = []
    for r in locked:
        cur = now_by_id.get(r["id"])
        if cur is None:
            continue
        changes = [{"field": f, "locked": r.get(f), "current": cur.get(f),
                    "diff": (cur[f] - r[f]) if None not in (r.get(f), cur.get(f)) else None}
                   for f in COMPARED if r.get(f) != cur.get(f)]
        if changes:
            out.append({"id": r["id"], "name": r["name"], "changes": changes})
    return out


def figures(city_id: int, month: str, *, now: datetime) -> dict:
    """The month's evaluation for the notice and the page: rows (locked once due), the bottom-N
    flags (this month and the month before, in the city and in each county), and corrections."""
    snap, rows = _settled(city_id, month, now)
    settings = snap.data["settings"] if snap else scoring.settings(city_id)
    fixes = corrections(rows, month_rows(city_id, month, now=now, settings=settings)) if snap else []
    _prev_snap, prev = _settled(city_id, shift(month, -1), now)
    n = settings["bottom_n"]
    city_twice = scoring.bottom(rows, "score", n) & scoring.bottom(prev, "score", n)
    prev_groups = _by_region(prev)
    county_twice = set()
    for region_id, group in _by_region(rows).items():
        county_twice |= scoring.bottom(group, "score", n) & scoring.bottom(prev_groups.get(region_id, []), "score", n)
    prev_rank = {r["id"]: r["city_rank"] for r in prev}
    for r in rows:
        r["bottom_city_twice"], r["bottom_county_twice"] = r["id"] in city_twice, r["id"] in county_twice
        r["prev_city_rank"] = prev_rank.get(r["id"])
    return {"month": month, "locked": snap is not None, "locked_at": snap.locked_at if snap else None,
            "lock_at": lock_at(month), "settings": settings, "rows": rows, "corrections": fixes,
            "named": [r for r in rows if r["bottom_city_twice"] or r["bottom_county_twice"]]}


def for_county(fig: dict, county_id: int) -> dict:
    """A county auditor's view of the city's figures: its own hospitals, ranked in the county."""
    rows = sorted((r for r in fig["rows"] if r["region_id"] == county_id),
                  key=lambda r: (r["county_rank"] is None, r["county_rank"] or 0, r["name"]))
    ids = {r["id"] for r in rows}
    return {**fig, "rows": rows, "corrections": [c for c in fig["corrections"] if c["id"] in ids],
            "named": [r for r in rows if r["bottom_county_twice"]]}


def auditor_view(user, month: str, *, now: datetime) -> dict:
    """The evaluation as an auditor sees it: the city auditor the whole city, a county auditor
    their county's hospitals ranked within the county (ranked in the city's locked figures)."""
    region = user.region
    city_id = region.id if region.level == "city" else region.parent_id
    fig = figures(city_id, month, now=now)
    if region.level != "city":
        fig = for_county(fig, region.id)
    return {**fig, "region_name": region.name, "is_city": region.level == "city"}
