"""Call-queue fixtures: a frozen local clock helper and a ward with tasks due on known days."""
from datetime import date, datetime

import pytest

from followup.core.clock import LOCAL_TZ


def at(day: int, hh: int, mm: int = 0, month: int = 11) -> datetime:
    """A local (Asia/Shanghai) moment in November 2026, as an aware datetime."""
    return datetime(2026, month, day, hh, mm, tzinfo=LOCAL_TZ)


@pytest.fixture
def ward_tasks(world):
    """Three cardiology discharges on 18, 19 and 20 November: ward tasks due at local midnight
    starting 26, 27 and 28 Nov (discharge day + 8, the 7-day rule)."""
    from followup.models import Level
    out = []
    for d in (date(2026, 11, 20), date(2026, 11, 18), date(2026, 11, 19)):
        dis = world.discharge(world.cardiology, discharged=d)
        out.append(next(t for t in dis.tasks if t.level == Level.WARD))
    return sorted(out, key=lambda t: t.due_at)
