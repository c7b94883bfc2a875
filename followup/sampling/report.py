"""The verification report of a sample, per hospital: sample size, reached, consistency and
discrepancy rates, and the gap between the satisfaction the hospital recorded and the one the
auditor heard. Computed from the sampled records every time (no stored counters)."""
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..models import Hospital
from ..models.sample import Classification as C
from ..models.sample import SampledRecord as R
from ..models.sample import SampleStratum


@dataclass(frozen=True)
class HospitalRow:
    hospital_id: int
    hospital: str
    population: int
    sampled: int
    recorded: int
    reached: int
    consistent: int
    suspected_false: int
    lost_but_reachable: int
    not_verifiable: int
    sat_hospital: float | None   # mean over records where both satisfactions are known
    sat_auditor: float | None

    @property
    def verifiable(self) -> int:
        return self.consistent + self.suspected_false + self.lost_but_reachable

    @property
    def consistency_rate(self) -> float | None:
        return self.consistent / self.verifiable if self.verifiable else None

    @property
    def discrepancy_rate(self) -> float | None:
        return (self.suspected_false + self.lost_but_reachable) / self.verifiable if self.verifiable else None

    @property
    def reach_rate(self) -> float | None:
        return self.reached / self.recorded if self.recorded else None

    @property
    def satisfaction_gap(self) -> float | None:
        """Hospital-recorded minus auditor-heard: positive = the hospital's figure is rosier."""
        if self.sat_hospital is None or self.sat_auditor is None:
            return None
        return self.sat_hospital - self.sat_auditor


def _count(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def hospital_rows(sample_id: int) -> list[HospitalRow]:
    both = and_(R.satisfaction.is_not(None), R.hospital_satisfaction.is_not(None))
    per = (select(R.hospital_id, func.count().label("sampled"), _count(R.reached.is_not(None)).label("recorded"),
                  _count(R.reached.is_(True)).label("reached"),
                  *[_count(R.classification == c.value).label(c.value) for c in C],
                  func.avg(case((both, R.hospital_satisfaction))).label("sat_h"),
                  func.avg(case((both, R.satisfaction))).label("sat_a"))
           .where(R.sample_id == sample_id).group_by(R.hospital_id).subquery())
    rows = db.session.execute(
        select(SampleStratum.hospital_id, Hospital.name, SampleStratum.population_size, per)
        .join(Hospital, Hospital.id == SampleStratum.hospital_id)
        .outerjoin(per, per.c.hospital_id == SampleStratum.hospital_id)
        .where(SampleStratum.sample_id == sample_id).order_by(Hospital.code)).mappings()
    return [HospitalRow(
        hospital_id=r["hospital_id"], hospital=r["name"], population=r["population_size"],
        sampled=r["sampled"] or 0, recorded=r["recorded"] or 0, reached=r["reached"] or 0,
        **{c.value: r[c.value] or 0 for c in C},
        sat_hospital=_f(r["sat_h"]), sat_auditor=_f(r["sat_a"])) for r in rows]


def _f(value):
    return None if value is None else round(float(value), 2)


# The export: (English header msgid, value getter). Rates as fractions so Excel can format them.
EXPORT_COLUMNS = [
    ("Hospital", lambda r: r.hospital), ("Population", lambda r: r.population),
    ("Sampled", lambda r: r.sampled), ("Results recorded", lambda r: r.recorded),
    ("Reached", lambda r: r.reached), ("Consistent", lambda r: r.consistent),
    ("Suspected false record", lambda r: r.suspected_false),
    ("Lost but reachable", lambda r: r.lost_but_reachable), ("Not verifiable", lambda r: r.not_verifiable),
    ("Consistency rate", lambda r: r.consistency_rate), ("Discrepancy rate", lambda r: r.discrepancy_rate),
    ("Satisfaction (hospital)", lambda r: r.sat_hospital), ("Satisfaction (auditor)", lambda r: r.sat_auditor),
    ("Satisfaction gap", lambda r: r.satisfaction_gap),
]


def suspect_records(sample_id: int, scope) -> list[R]:
    """The sampled patients whose hospital record the auditor's call contradicts (suspected false
    record, lost but reachable), hospital by hospital: the names behind the report's totals.
    `scope` is the caller's sampled-record filter, so an auditor sees only her region's."""
    from sqlalchemy.orm import selectinload
    from ..models import Discharge
    return db.session.scalars(
        select(R).where(R.sample_id == sample_id, scope,
                        R.classification.in_([C.SUSPECTED_FALSE.value, C.LOST_BUT_REACHABLE.value]))
        .options(selectinload(R.hospital),
                 selectinload(R.discharge).selectinload(Discharge.patient),
                 selectinload(R.discharge).selectinload(Discharge.ward))
        .order_by(R.hospital_id, R.position)).all()
