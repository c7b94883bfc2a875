"""Verification: recompute a sample from its frozen population and seeds and compare everything
stored; and the drift between the frozen population and today's (late arrivals, removals)."""
from datetime import datetime

import numpy as np
from sqlalchemy import select

from ..core import audit
from ..core.clock import utcnow
from ..extensions import db
from ..models import Hospital
from ..models.sample import AuditSample, SampleCheck, SampledRecord
from . import algorithm as alg
from .population import load_strata


def verify_sample(sample: AuditSample) -> list[str]:
    """Every difference between what is stored and what the algorithm gives; [] = identical."""
    if sample.algorithm != alg.ALGORITHM:
        return [f"unknown algorithm {sample.algorithm!r}"]
    problems: list[str] = []
    try:
        rate = alg.parse_rate(sample.rate, sample.region.level)
    except alg.RateError as exc:
        return [f"stored rate: {exc}"]
    key = alg.derive_key(bytes.fromhex(sample.system_seed), sample.public_seed)
    stored = _stored_samples(sample.id)
    pop_parts, recomputed = [], {}
    for st in sample.strata:
        where = f"hospital {st.hospital_id}"
        ids = alg.decode_ids(st.population_ids)
        digest = alg.stratum_digest(st.population_ids)
        if digest != st.population_digest:
            problems.append(f"{where}: frozen population does not match its digest")
        if len(ids) != st.population_size:
            problems.append(f"{where}: population size {st.population_size} stored, {len(ids)} frozen")
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            problems.append(f"{where}: frozen ids are not strictly ascending")
        k = alg.sample_size(rate, len(ids))
        if k != st.sample_size:
            problems.append(f"{where}: sample size {st.sample_size} stored, {k} by the rate")
        expected = [int(i) for i in alg.draw_stratum(key, st.hospital_id, ids, k)]
        recomputed[st.hospital_id] = expected
        got = stored.pop(st.hospital_id, [])
        if got != expected:
            problems.append(_difference(where, expected, got))
        pop_parts.append((st.hospital_id, len(ids), digest))
    for hospital_id, got in stored.items():
        problems.append(f"hospital {hospital_id}: {len(got)} sampled records outside every stratum")
    if alg.combined_digest(pop_parts) != sample.population_digest:
        problems.append("population digest differs from the draw record")
    if sum(p[1] for p in pop_parts) != sample.population_size:
        problems.append("total population size differs from the draw record")
    if alg.sample_digest_of(recomputed) != sample.sample_digest:
        problems.append("sample digest differs from the draw record")
    if sum(len(v) for v in recomputed.values()) != sample.sample_size:
        problems.append("total sample size differs from the draw record")
    problems.extend(_out_of_region(sample))
    return problems


def _stored_samples(sample_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    rows = db.session.execute(select(SampledRecord.hospital_id, SampledRecord.discharge_id)
                              .where(SampledRecord.sample_id == sample_id)
                              .order_by(SampledRecord.hospital_id, SampledRecord.position))
    for hospital_id, discharge_id in rows:
        out.setdefault(hospital_id, []).append(discharge_id)
    return out


def _difference(where: str, expected: list[int], got: list[int]) -> str:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if not missing and not extra:
        return f"{where}: sampled records are in a different order"
    return f"{where}: sampled records differ (missing {missing[:10]}, unexpected {extra[:10]})"


def _out_of_region(sample: AuditSample) -> list[str]:
    """A county sample may only hold that county's hospitals (never a 市直 one)."""
    if sample.region.level != "county":
        return []
    ids = [st.hospital_id for st in sample.strata]
    outside = db.session.scalars(select(Hospital.id).where(
        Hospital.id.in_(ids), Hospital.region_id != sample.region_id)).all()
    return [f"hospital {h}: not a hospital of county {sample.region.code}" for h in outside]


def check_sample(sample: AuditSample, *, user=None, now: datetime | None = None) -> SampleCheck:
    """Verify, and keep the result (and an audit row). Flushes, never commits."""
    problems = verify_sample(sample)
    check = SampleCheck(sample_id=sample.id, checked_by_id=getattr(user, "id", None),
                        checked_at=now or utcnow(), ok=not problems, problems=problems)
    db.session.add(check)
    db.session.flush()
    audit.record("sample.verify", user=user, object_type="audit_sample", object_id=sample.id,
                 now=now, detail={"ok": check.ok, "problems": len(problems)})
    return check


def population_drift(sample: AuditSample) -> dict[int, dict[str, int]]:
    """Per hospital: records eligible now but not frozen (late arrivals — a warning sign) and
    frozen records no longer eligible (deleted, re-dated, or marked died since the draw)."""
    current = load_strata([st.hospital_id for st in sample.strata], sample.period_start, sample.period_end)
    out = {}
    for st in sample.strata:
        frozen = alg.decode_ids(st.population_ids)
        now_ids = current.get(st.hospital_id, np.empty(0, dtype=np.uint64))
        out[st.hospital_id] = {"late": int(len(np.setdiff1d(now_ids, frozen, assume_unique=True))),
                               "gone": int(len(np.setdiff1d(frozen, now_ids, assume_unique=True)))}
    return out
