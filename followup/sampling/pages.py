"""What the audit-sample pages show, scoped to the viewer: the sample list, one sample with its
records and checks, the next record to call. The routes render these; nothing here commits."""
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core import audit
from ..core.access import sample_filter, sampled_record_filter
from ..extensions import db
from ..models import Discharge
from ..models.sample import AuditSample, SampleCallAttempt, SampleCheck, SampledRecord
from . import algorithm as alg
from .draw import DrawRequest
from .population import month_period
from .report import EXPORT_COLUMNS, hospital_rows, suspect_records
from .verify import population_drift

# Re-reading a huge population on every view would take seconds: above this the auditor asks for it.
DRIFT_ON_VIEW_LIMIT = 1_000_000


def sample_list(user) -> dict:
    """The samples the user may see, newest period first, with how many records have a result."""
    samples = db.session.scalars(select(AuditSample).where(sample_filter(user)).order_by(
        AuditSample.period_start.desc(), AuditSample.region_id, AuditSample.draw_no.desc())).all()
    recorded = dict(db.session.execute(
        select(SampledRecord.sample_id, func.count()).where(SampledRecord.reached.is_not(None),
                                                            SampledRecord.sample_id.in_([s.id for s in samples]))
        .group_by(SampledRecord.sample_id)).all())
    region = user.region
    floor = alg.format_percent(alg.RATE_FLOORS[region.level]) if region else ""
    return {"samples": samples, "recorded": recorded, "region": region, "floor": floor}


def draw_request(region, data: dict) -> DrawRequest:
    """The draw the form asks for; the form's rate is a percentage with or without its sign."""
    start, end = month_period(data["period"])
    rate = data["rate"].strip()
    rate = rate if rate.endswith(("%", "％")) else rate + "%"
    return DrawRequest(region, start, end, rate, data["public_seed"], data["reason"])


def sample_detail(sample: AuditSample, user, *, drift_requested: bool = False) -> dict:
    """One sample: the records the user may see (the view is logged: the list names patients),
    call attempts per record, verification checks, the other draws of the same period, and the
    population's drift since the draw (only on request above DRIFT_ON_VIEW_LIMIT)."""
    records = db.session.scalars(select(SampledRecord).where(
        SampledRecord.sample_id == sample.id, sampled_record_filter(user))
        .options(selectinload(SampledRecord.hospital),
                 selectinload(SampledRecord.discharge).selectinload(Discharge.patient),
                 selectinload(SampledRecord.discharge).selectinload(Discharge.ward))
        .order_by(SampledRecord.hospital_id, SampledRecord.position)).all()
    attempts = dict(db.session.execute(
        select(SampleCallAttempt.record_id, func.count()).where(
            SampleCallAttempt.record_id.in_([r.id for r in records])).group_by(SampleCallAttempt.record_id)).all())
    if records:
        audit.record("sample.records_view", object_type="audit_sample", object_id=sample.id,
                     detail={"records": len(records)})
    checks = db.session.scalars(select(SampleCheck).where(SampleCheck.sample_id == sample.id)
                                .order_by(SampleCheck.checked_at.desc())).all()
    others = db.session.scalars(select(AuditSample).where(
        AuditSample.region_id == sample.region_id, AuditSample.period_start == sample.period_start,
        AuditSample.period_end == sample.period_end, AuditSample.id != sample.id)
        .order_by(AuditSample.draw_no)).all()
    drift = (population_drift(sample) if sample.population_size <= DRIFT_ON_VIEW_LIMIT or drift_requested
             else None)
    return {"sample": sample, "records": records, "attempts": attempts, "checks": checks, "others": others,
            "drift": drift, "late": sum(d["late"] for d in (drift or {}).values()),
            "gone": sum(d["gone"] for d in (drift or {}).values())}


def next_record_id(record: SampledRecord, user) -> int | None:
    """The next record of the same sample still without a result, in calling order."""
    return db.session.scalar(select(SampledRecord.id).where(
        SampledRecord.sample_id == record.sample_id, SampledRecord.reached.is_(None),
        SampledRecord.id != record.id, sampled_record_filter(user))
        .order_by(SampledRecord.hospital_id, SampledRecord.position).limit(1))


def report_page(sample: AuditSample, user) -> dict:
    """The per-hospital report, and the sampled patients whose record the auditor's call
    contradicts (the view of those is logged: it names patients)."""
    suspects = suspect_records(sample.id, sampled_record_filter(user))
    if suspects:
        audit.record("sample.suspects_view", object_type="audit_sample", object_id=sample.id,
                     detail={"records": len(suspects)})
    return {"sample": sample, "rows": hospital_rows(sample.id), "suspects": suspects}


def report_export_rows(sample: AuditSample, fmt: str) -> list[list]:
    """The report's rows under EXPORT_COLUMNS, for a spreadsheet; the export is logged."""
    rows = hospital_rows(sample.id)
    audit.record("sample.report_export", object_type="audit_sample", object_id=sample.id,
                 detail={"format": fmt, "hospitals": len(rows)})
    return [[get(r) for _h, get in EXPORT_COLUMNS] for r in rows]
