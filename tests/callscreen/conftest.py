"""Call-screen fixtures: one discharge with two medicines whose ward task is claimed by the
cardiology nurse and whose hospital task is claimed by the follow-up centre, at a frozen NOW."""
from datetime import date, datetime, timezone

import pytest
import time_machine

from followup.core.clock import LOCAL_TZ

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL_TZ)  # inside calling hours
MEDICINES = "阿司匹林肠溶片 100mg 每日一次\n苯磺酸氨氯地平片 5mg 每日一次"


@pytest.fixture
def frozen():
    """Routes read the real clock: freeze it at NOW."""
    with time_machine.travel(NOW.astimezone(timezone.utc), tick=False):
        yield NOW


@pytest.fixture
def claimed(world, db):
    """(ward task, hospital task), claimed by world.nurse and world.centre: of two discharges
    alike, since two callers never hold one patient at once (issue 13)."""
    from followup.calls import queueing
    from followup.models import Level
    found = []
    for level, caller in ((Level.WARD, world.nurse), (Level.HOSPITAL, world.centre)):
        d = world.discharge(world.cardiology, discharged=date(2026, 11, 20), medicines=MEDICINES,
                            name="李秀英", phone="+8613812345678", attending_doctor="王建国")
        task = next(t for t in d.tasks if t.level == level)
        queueing.claim_task(caller, task.id, NOW)
        found.append(task)
    db.session.commit()
    return tuple(found)


def ward_data(**over):
    """A complete, valid ward-level form."""
    data = {
        "condition": "improved",
        "medication_adherence": [
            {"medicine": "阿司匹林肠溶片 100mg 每日一次", "as_prescribed": True},
            {"medicine": "苯磺酸氨氯地平片 5mg 每日一次", "as_prescribed": False, "note": "忘记服用两次"},
        ],
        "guidance": {"medication": {"given": True, "choices": ["on_time_dose"]},
                     "diet": {"given": True, "choices": ["low_salt_fat"], "text": "每日盐少于5克"}},
        "next_visit_date": "2026-12-01",
    }
    data.update(over)
    return data


def hospital_data(**over):
    data = {"sat_overall": 4, "sat_doctors": 5, "sat_nurses": 5, "sat_environment": 3, "sat_cost": 2, "sat_process": 4}
    data.update(over)
    return data
