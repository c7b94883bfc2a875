"""Drawing a sample: freeze the population, draw, and keep the record. Flushes, never commits."""
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ..core import audit
from ..core.clock import utcnow
from ..extensions import db
from ..models import Region
from ..models.sample import AuditSample, SampledRecord, SampleStratum
from . import algorithm as alg
from .algorithm import N_
from .population import load_strata, region_hospital_ids

MIN_REASON_CHARS = 5
MAX_PUBLIC_SEED_CHARS = 200


class DrawError(alg.SamplingError):
    """A refused draw; `field` names the form field at fault."""


@dataclass(frozen=True)
class DrawRequest:
    region: Region
    period_start: date
    period_end: date
    rate: str
    public_seed: str
    reason: str = ""


def previous_draws(region_id: int, start: date, end: date) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditSample).where(
        AuditSample.region_id == region_id, AuditSample.period_start == start,
        AuditSample.period_end == end)) or 0


@dataclass(frozen=True)
class Checked:
    rate: object
    public_seed: str
    reason: str
    draw_no: int


def check_request(req: DrawRequest, draw_no: int | None = None) -> Checked:
    """Everything a draw refuses, checked before any work (the form shows it at once). The round
    (draw_no) is the next one unless given: a job draws the round fixed when it was asked for."""
    try:
        rate = alg.parse_rate(req.rate, req.region.level)
    except alg.RateError as exc:
        raise DrawError(exc.template, "rate", **exc.params) from None
    public_seed = alg.normalise_public_seed(req.public_seed or "")
    if not public_seed or len(public_seed) > MAX_PUBLIC_SEED_CHARS:
        raise DrawError(N_("enter a public seed of 1 to %(n)s characters (for example a published "
                           "lottery number)"), "public_seed", n=MAX_PUBLIC_SEED_CHARS)
    if req.period_end <= req.period_start:
        raise DrawError(N_("the period is empty"), "period")
    reason = (req.reason or "").strip()
    if draw_no is None:
        draw_no = previous_draws(req.region.id, req.period_start, req.period_end) + 1
    if draw_no > 1 and len(reason) < MIN_REASON_CHARS:
        raise DrawError(N_("this region and period already has a sample: a new draw needs a written "
                           "reason, and both draws stay on record"), "reason")
    return Checked(rate, public_seed, reason, draw_no)


def existing_draw(region_id: int, start: date, end: date, draw_no: int) -> AuditSample | None:
    """The sample of one round: a draw is keyed by region, period and round."""
    return db.session.scalar(select(AuditSample).where(
        AuditSample.region_id == region_id, AuditSample.period_start == start,
        AuditSample.period_end == end, AuditSample.draw_no == draw_no))


def draw_sample(req: DrawRequest, *, user=None, now: datetime | None = None,
                system_seed: bytes | None = None, draw_no: int | None = None,
                progress=None) -> AuditSample:
    """Draw and store a sample. `system_seed` is for tests only; a real draw makes its own.
    `progress(step)` is told when each step starts (a job commits its progress row there)."""
    progress = progress or (lambda step: None)
    checked = check_request(req, draw_no)
    rate, public_seed, reason, draw_no = checked.rate, checked.public_seed, checked.reason, checked.draw_no
    seed = system_seed if system_seed is not None else secrets.token_bytes(32)
    key = alg.derive_key(seed, public_seed)
    progress("population")
    strata = load_strata(region_hospital_ids(req.region), req.period_start, req.period_end)
    progress("drawing")
    draws = alg.draw(strata, rate, key)
    samples = {d.hospital_id: [int(i) for i in d.sample] for d in draws}
    sample = AuditSample(
        region_id=req.region.id, period_start=req.period_start, period_end=req.period_end,
        draw_no=draw_no, reason=reason, rate=alg.format_rate(rate), algorithm=alg.ALGORITHM,
        system_seed=seed.hex(), public_seed=public_seed,
        population_size=sum(len(d.population) for d in draws),
        population_digest=alg.population_digest_of(draws),
        sample_size=sum(len(ids) for ids in samples.values()),
        sample_digest=alg.sample_digest_of(samples),
        drawn_by_id=getattr(user, "id", None), drawn_at=now or utcnow())
    progress("storing")
    db.session.add(sample)
    try:
        # No savepoint: under pysqlite a savepoint outside a transaction commits on release. The
        # caller rolls the whole transaction back on DrawError.
        db.session.flush()
    except IntegrityError:
        raise DrawError(N_("another draw for this region and period was made at the same moment; "
                           "reload the page and give a reason"), "reason") from None
    _store(sample, draws, samples)
    audit.record("sample.draw", user=user, object_type="audit_sample", object_id=sample.id, now=now,
                 detail={"region": req.region.code, "period": req.period_start.isoformat(),
                         "draw_no": draw_no, "rate": sample.rate,
                         "population": sample.population_size, "sample": sample.sample_size})
    return sample


def _store(sample: AuditSample, draws, samples: dict[int, list[int]]) -> None:
    """Set-based writes: one row per stratum (the frozen ids), one per sampled record."""
    _bulk_insert(SampleStratum, STRATUM_COLUMNS, [
        (sample.id, d.hospital_id, len(d.population), len(d.sample), d.population_digest,
         d.encoded_population) for d in draws])
    _bulk_insert(SampledRecord, RECORD_COLUMNS, [
        (sample.id, h, did, pos) for h, ids in samples.items() for pos, did in enumerate(ids, start=1)])
    db.session.flush()


# (column, PostgreSQL type for binary COPY)
STRATUM_COLUMNS = (("sample_id", "int4"), ("hospital_id", "int4"), ("population_size", "int4"),
                   ("sample_size", "int4"), ("population_digest", "varchar"), ("population_ids", "bytea"))
RECORD_COLUMNS = (("sample_id", "int4"), ("hospital_id", "int4"), ("discharge_id", "int4"), ("position", "int4"))


def _bulk_insert(model, columns, rows) -> None:
    """On PostgreSQL a binary COPY on the session's own connection (same transaction): an INSERT
    sends the 80 MB of a 10M city draw hex-encoded, twice the bytes and ~5x the time."""
    if not rows:
        return
    names = [c for c, _type in columns]
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(model), [dict(zip(names, row)) for row in rows])
        return
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {model.__tablename__} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([t for _c, t in columns])
        for row in rows:
            copy.write_row(row)
