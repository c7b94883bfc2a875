"""Sampling fixtures: populations made in bulk, and a draw helper with a fixed system seed."""
from datetime import date, datetime, time

import pytest

from followup.core.clock import LOCAL_TZ
from followup.extensions import db
from followup.models import Discharge, Patient
from followup.sampling.draw import DrawRequest, draw_sample
from followup.sampling.population import month_period

SYSTEM_SEED = bytes.fromhex("5a" * 32)


@pytest.fixture
def populate(world):
    """populate(ward, n, day=…, disposition='1') → ids of n new discharges (no tasks), committed."""
    seq = iter(range(1, 10**7))

    def add(ward, n, day=date(2026, 10, 15), disposition="1"):
        rows = []
        for _ in range(n):
            i = next(seq)
            p = Patient(hospital_id=ward.hospital_id, name=f"患者{i}", sex="1", phone="+8613800000000",
                        phone_masked="138****0000")
            d = Discharge(hospital_id=ward.hospital_id, ward_id=ward.id, patient=p,
                          inpatient_no=f"B{ward.id}-{i:06d}", discharge_date=day, disposition=disposition,
                          discharge_at=datetime.combine(day, time(9), LOCAL_TZ))
            rows.append(d)
        db.session.add_all(rows)
        db.session.commit()
        return [d.id for d in rows]
    return add


@pytest.fixture
def draw(world):
    """draw(region, rate=…, period='2026-10', public_seed=…, **kw) → a committed AuditSample."""
    def do(region, rate="0.01", period="2026-10", public_seed="2026-10 lottery 07 19 23", reason="",
           user=None, system_seed=SYSTEM_SEED, commit=True):
        start, end = month_period(period)
        sample = draw_sample(DrawRequest(region, start, end, rate, public_seed, reason), user=user,
                             system_seed=system_seed)
        if commit:
            db.session.commit()
        return sample
    return do
