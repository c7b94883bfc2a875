"""The findings-flow world: hospital A with its functional departments (收费处 with a head), a
frozen clock inside November 2026, evidence stored in a temporary directory, and a draw helper."""
from datetime import date, datetime, timezone

import pytest
import time_machine

from followup.core.clock import LOCAL_TZ, utcnow
from followup.extensions import db
from followup.models import Role
from followup.rectification import departments
from followup.security.users import create_user

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL_TZ)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW.astimezone(timezone.utc), tick=False):
        yield NOW


@pytest.fixture
def depts(world, app, tmp_path):
    """world + 收费处 and 医务科 (functional) in hospital A, and the 收费处 head (cashier_head)."""
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    h = world.hospital_a.id
    world.cashier = departments.add_department(h, "收费处", "functional", user=None, now=utcnow())
    world.medical = departments.add_department(h, "医务科", "functional", user=None, now=utcnow())
    world.cashier_head = create_user("sfc_head", world.PASSWORD, Role.DEPT_RESPONDER, hospital_code="HA",
                                     ward_codes=[world.cashier.code], display_name="收费处主任")
    db.session.commit()
    return world


@pytest.fixture
def draw(world):
    from followup.sampling.draw import DrawRequest, draw_sample
    from followup.sampling.population import month_period

    def do(region, rate="0.01", period="2026-10"):
        start, end = month_period(period)
        sample = draw_sample(DrawRequest(region, start, end, rate, "2026-10 lottery 07 19 23", ""), user=None,
                             system_seed=bytes.fromhex("5a" * 32))
        db.session.commit()
        return sample
    return do


def stay(world, **kw):
    return world.discharge(world.cardiology, discharged=kw.pop("discharged", date(2026, 11, 20)), **kw)
