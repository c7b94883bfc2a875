"""The monthly QC sample (质控抽查) of each caller's completed calls.

Rule: for every caller who completed calls in the month, n = ceil(rate × N / 100) of their N
completed calls (rate in percent, default 10; so at least 1 for anyone who made one).
Which calls: each completed task gets the key HMAC-SHA256(seed, "hospital|month|task id"); a
caller's n calls with the lowest keys are drawn. The seed is stored per hospital (QcPolicy) and
copied onto the sample, so the same hospital, month and seed always give the same sample
(`recompute` proves it), and a caller can't tell which calls will be checked.
A completed call = a task done (completed_at) in the local month; its caller is whoever saved
the follow-up record."""
import hashlib
import hmac
import secrets
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, union_all

from ..core import audit
from ..core.clock import month_bounds
from ..extensions import db
from ..models import FollowupTask, Level, TaskStatus
from ..models.call import HospitalFollowup, WardFollowup
from ..models.quality import QcPolicy, QcReview, QcSample
from ..reports.monthly import parse_month

DEFAULT_RATE_PERCENT = 10


class QcError(ValueError):
    pass


def per_caller(n_calls: int, rate_percent: int) -> int:
    """ceil(rate × N / 100) in integers (no float rounding): 0 only when N is 0."""
    return -(-n_calls * rate_percent // 100)


def policy(hospital_id: int, *, now: datetime) -> QcPolicy:
    """The hospital's QC policy, made (default rate, fresh random seed) on first use. Flushes."""
    row = db.session.get(QcPolicy, hospital_id)
    if row is None:
        row = QcPolicy(hospital_id=hospital_id, rate_percent=DEFAULT_RATE_PERCENT,
                       seed=secrets.token_hex(32), updated_at=now)
        db.session.add(row)
        db.session.flush()
    return row


def set_rate(hospital_id: int, rate_percent: int, *, user, now: datetime) -> QcPolicy:
    if not 1 <= rate_percent <= 100:
        raise QcError("rate must be 1–100 %")
    row = policy(hospital_id, now=now)
    row.rate_percent, row.updated_by_id, row.updated_at = rate_percent, getattr(user, "id", None), now
    db.session.flush()
    audit.record("qc.rate", user=user, object_type="hospital", object_id=hospital_id,
                 detail={"rate_percent": rate_percent}, now=now)
    return row


def population(hospital_id: int, month: str) -> list[tuple[int, int, int, str]]:
    """(task id, caller id, ward id, level) of the month's completed calls, by task id."""
    start, end = month_bounds(*parse_month(month))
    T = FollowupTask

    def done(record, level):
        return (select(T.id, record.recorded_by_id, T.ward_id, T.level).join(record, record.task_id == T.id)
                .where(T.hospital_id == hospital_id, T.level == level, T.status == TaskStatus.DONE,
                       T.completed_at >= start, T.completed_at < end))
    q = union_all(done(WardFollowup, Level.WARD), done(HospitalFollowup, Level.HOSPITAL))
    return sorted(tuple(r) for r in db.session.execute(q).all())


def _key(seed: str, hospital_id: int, month: str, task_id: int) -> bytes:
    return hmac.new(bytes.fromhex(seed), f"{hospital_id}|{month}|{task_id}".encode(), hashlib.sha256).digest()


def choose(rows, seed: str, hospital_id: int, month: str, rate_percent: int) -> list[tuple]:
    """The sample of `rows` (from population()): each caller's n lowest-keyed calls. Pure."""
    by_caller = defaultdict(list)
    for row in rows:
        by_caller[row[1]].append(row)
    chosen = []
    for caller in sorted(by_caller):
        calls = sorted(by_caller[caller], key=lambda r: _key(seed, hospital_id, month, r[0]))
        chosen += calls[:per_caller(len(calls), rate_percent)]
    return sorted(chosen)


def draw(hospital_id: int, month: str, *, now: datetime, user=None) -> QcSample:
    """The month's sample (drawn once: a second call returns it). Only for a month that is
    over, so no later call of the month escapes it. Flushes and audits."""
    existing = db.session.scalar(select(QcSample).where(QcSample.hospital_id == hospital_id,
                                                        QcSample.month == month))
    if existing is not None:
        return existing
    if now < month_bounds(*parse_month(month))[1]:
        raise QcError("a month is sampled once it is over")
    pol = policy(hospital_id, now=now)
    sample = QcSample(hospital_id=hospital_id, month=month, rate_percent=pol.rate_percent, seed=pol.seed,
                      drawn_at=now, drawn_by_id=getattr(user, "id", None))
    db.session.add(sample)
    db.session.flush()
    db.session.add_all([QcReview(sample_id=sample.id, hospital_id=hospital_id, task_id=t, caller_id=c,
                                 ward_id=w, level=lvl)
                        for t, c, w, lvl in choose(population(hospital_id, month), pol.seed, hospital_id,
                                                   month, pol.rate_percent)])
    db.session.flush()
    audit.record("qc.draw", user=user, object_type="qc_sample", object_id=sample.id, now=now,
                 detail={"hospital_id": hospital_id, "month": month, "rate_percent": pol.rate_percent})
    return sample


def recompute(sample: QcSample) -> bool:
    """True when the stored sample is exactly what its seed, hospital and month give today."""
    again = choose(population(sample.hospital_id, sample.month), sample.seed, sample.hospital_id,
                   sample.month, sample.rate_percent)
    stored = sorted(db.session.scalars(select(QcReview.task_id).where(QcReview.sample_id == sample.id)))
    return [t for t, *_ in again] == stored
