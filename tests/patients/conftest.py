"""Patient-level fixtures: one person (张林) with two stays in hospital A, the same person (same
ID number) in hospital B, and a bystander; a local-clock helper."""
from datetime import date, datetime, time
from types import SimpleNamespace

import pytest

from followup.core.clock import LOCAL_TZ

ID_ZHANG = "371502196005010016"
PHONE = "+8613015413970"
LANDLINE = "+866358273456"


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=LOCAL_TZ)


def another_stay(world, db, patient, ward, day: date, inpatient_no: str):
    from followup.calls.scheduling import create_tasks
    from followup.models import Discharge
    d = Discharge(hospital_id=ward.hospital_id, ward=ward, patient=patient, inpatient_no=inpatient_no,
                  discharge_at=datetime.combine(day, time(10), LOCAL_TZ), discharge_date=day,
                  disposition="1", diagnosis_code="I50.900", diagnosis_name="心力衰竭")
    db.session.add(d)
    db.session.flush()
    create_tasks(d)
    db.session.commit()
    return d


@pytest.fixture
def person(world, db):
    """张林: stays on 18 Nov (cardiology) and 20 Nov (orthopaedics) in A; the same ID in B; a bystander."""
    from followup.models import Level
    from followup.patients.identity import set_id_number, set_phones
    first = world.discharge(world.cardiology, discharged=date(2026, 11, 18), name="张林", phone=PHONE,
                            inpatient_no="ZY000123")
    p = first.patient
    set_id_number(p, ID_ZHANG)
    set_phones(p, [PHONE, LANDLINE])
    db.session.commit()
    second = another_stay(world, db, p, world.orthopaedics, date(2026, 11, 20), "ZY000456")
    in_b = world.discharge(world.ward_b, discharged=date(2026, 11, 19), name="张林", phone="+8613900000001")
    set_id_number(in_b.patient, ID_ZHANG)
    db.session.commit()
    bystander = world.discharge(world.cardiology, discharged=date(2026, 11, 18), name="李四", phone="+8613812345678")

    def task(d, level):
        return next(t for t in d.tasks if t.level == level)
    return SimpleNamespace(patient=p, first=first, second=second, in_b=in_b, bystander=bystander, task=task,
                           W=Level.WARD, H=Level.HOSPITAL)


@pytest.fixture
def frozen_at():
    """frozen_at(local datetime): routes read the real clock; freeze it there for the test."""
    import time_machine
    travellers = []

    def freeze(when):
        t = time_machine.travel(when, tick=False)
        t.start()
        travellers.append(t)
    yield freeze
    for t in reversed(travellers):
        t.stop()
