"""The composite monthly score (月度测评综合得分): each metric becomes 0–100, then a weighted mean.

Metric → 0–100 (every figure is computed from the records, see commission.month_rows):
- followup_rate, on_time_rate, audit_consistency, items_on_time: the rate × 100;
- satisfaction (overall, 1–5): (mean − 1) / 4 × 100;
- complaints per 1,000 discharges (fewer is better): 100 × (1 − x / cap), at least 0; the cap
  (default 10 per 1,000) is stored with the weights.
Score = Σ weight × metric score / Σ weight, over the metrics the hospital has a value for (no
audited calls this month, say, leaves that metric out rather than counting it as 0), rounded to
two decimals. Weights are stored per city (ScoreWeights) and edited by the city auditor."""
from datetime import datetime

from ..core import audit
from ..extensions import db
from ..models.scoring import ScoreWeights

# weight key → the row field it scores
METRICS = {"followup_rate": "followup_rate", "on_time_rate": "on_time_rate", "satisfaction": "satisfaction",
           "complaints": "complaints_per_1000", "audit_consistency": "audit_consistency",
           "items_on_time": "items_on_time"}
DEFAULT_WEIGHTS = {"followup_rate": 25, "on_time_rate": 20, "satisfaction": 20, "complaints": 10,
                   "audit_consistency": 15, "items_on_time": 10}
DEFAULT_CAP = 10
DEFAULT_BOTTOM_N = 3


def settings(city_id: int) -> dict:
    row = db.session.get(ScoreWeights, city_id)
    if row is None:
        return {"weights": dict(DEFAULT_WEIGHTS), "complaints_cap": DEFAULT_CAP, "bottom_n": DEFAULT_BOTTOM_N}
    return {"weights": {k: float(row.weights.get(k, 0)) for k in METRICS},
            "complaints_cap": row.complaints_cap, "bottom_n": row.bottom_n}


def save_settings(city_id: int, data: dict, *, user, now: datetime) -> ScoreWeights:
    """The city auditor's weights (at least one above 0), cap and bottom N. Flushes and audits."""
    weights = {k: float(data[k]) for k in METRICS}
    if not any(weights.values()) or any(w < 0 for w in weights.values()):
        raise ValueError("weights must be ≥ 0 and not all 0")
    row = db.session.get(ScoreWeights, city_id) or ScoreWeights(region_id=city_id)
    row.weights, row.complaints_cap, row.bottom_n = weights, int(data["complaints_cap"]), int(data["bottom_n"])
    row.updated_by_id, row.updated_at = getattr(user, "id", None), now
    db.session.add(row)
    db.session.flush()
    audit.record("commission.weights", user=user, object_type="region", object_id=city_id, now=now,
                 detail={"weights": weights, "complaints_cap": row.complaints_cap, "bottom_n": row.bottom_n})
    return row


def metric_score(key: str, value, cap: float):
    if value is None:
        return None
    if key == "satisfaction":
        return (value - 1) / 4 * 100
    if key == "complaints":
        return max(0.0, 100 * (1 - value / cap))
    return value * 100


def composite(row: dict, weights: dict, cap: float):
    """The weighted mean of the metric scores the row has, or None when it has none."""
    num = den = 0.0
    for key, field in METRICS.items():
        s = metric_score(key, row.get(field), cap)
        w = weights.get(key, 0)
        if s is None or not w:
            continue
        num, den = num + w * s, den + w
    return round(num / den, 2) if den else None


def competition_rank(rows: list[dict], key: str, out: str) -> None:
    """Highest `key` first; equal values share a rank (1, 2, 2, 4); None unranked."""
    ranked = sorted((r for r in rows if r[key] is not None), key=lambda r: -r[key])
    prev, prev_rank = object(), 0
    for i, r in enumerate(ranked, start=1):
        r[out] = prev_rank if r[key] == prev else i
        prev, prev_rank = r[key], r[out]
    for r in rows:
        r.setdefault(out, None)


def bottom(rows: list[dict], key: str, n: int) -> set:
    """Ids of the rows in the bottom n by `key`: fewer than n scored rows are worse (so ties at
    the bottom are all in). With n or fewer scored rows nobody is named."""
    scored = [r for r in rows if r[key] is not None]
    if len(scored) <= n:
        return set()
    return {r["id"] for r in scored if sum(1 for o in scored if o[key] < r[key]) < n}
