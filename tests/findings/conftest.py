"""Fixtures for issue 14's loops: a head nurse and a centre lead beside the named world."""
from datetime import datetime

import pytest

from followup.core.clock import LOCAL_TZ


def local(y, mo, d, hh=0, mm=0) -> datetime:
    return datetime(y, mo, d, hh, mm, tzinfo=LOCAL_TZ)


@pytest.fixture
def staffed(world, db):
    """The world plus a head nurse of cardiology (心内科) and a centre lead in hospital A."""
    from followup.models import Role
    from followup.security.users import create_user
    world.head_nurse = create_user("head_a", world.PASSWORD, Role.NURSE, hospital_code="HA", ward_codes=["XNK"])
    world.head_nurse.is_head_nurse = True
    world.centre_lead = create_user("centre_lead_a", world.PASSWORD, Role.CENTRE_STAFF, hospital_code="HA")
    world.centre_lead.is_head_nurse = True
    db.session.commit()
    return world
