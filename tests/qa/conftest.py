"""Factories for what callers record (built directly: the call forms are another feature), and
`november`: hospital_a's November 2026 with hand-counted answers."""
from datetime import date, datetime, timezone

import pytest

from followup.core.clock import LOCAL_TZ
from followup.extensions import db
from followup.models import Level, TaskStatus, Ward
from followup.models.call import HospitalFollowup
from followup.models.opinion import Opinion, RectificationItem

UTC = timezone.utc


def local(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def task(d, level):
    return next(t for t in d.tasks if t.level == level)


def follow(d, level, status=TaskStatus.DONE, completed=None):
    t = task(d, level)
    t.status = status
    t.completed_at = completed if status == TaskStatus.DONE else None
    db.session.flush()
    return t


def hospital_record(d, recorded, recorder, **sats):
    t = follow(d, Level.HOSPITAL, completed=recorded)
    rec = HospitalFollowup(task_id=t.id, recorded_by_id=recorder.id, recorded_at=recorded,
                           **{f"sat_{k}": v for k, v in sats.items()})
    db.session.add(rec)
    db.session.flush()
    return rec


def opinion(d, text, sentiment, category, recorder, recorded, ward=None):
    o = Opinion(hospital_id=d.hospital_id, discharge_id=d.id, task_id=task(d, Level.HOSPITAL).id,
                text=text, sentiment=sentiment, category=category, ward_id=ward.id if ward else None,
                original_sentiment=sentiment, original_category=category,
                original_ward_id=ward.id if ward else None, recorded_by_id=recorder.id,
                recorded_at=recorded)
    db.session.add(o)
    db.session.flush()
    return o


def item(hospital, ward, problem, created, due, *, status="open", closed=None, opinion=None):
    from followup.rectification import ledger
    it = RectificationItem(hospital_id=hospital.id, ward_id=ward.id if ward else None, problem=problem,
                           status=status, due_date=due, created_at=created, closed_at=closed,
                           opinion_id=opinion.id if opinion else None, source="qa")
    db.session.add(it)
    db.session.flush()
    ledger.add_event(it, user=None, action="created", now=created)
    if status in ("responded", "closed"):
        ledger.add_event(it, user=None, action="responded", now=closed or created)
    if status == "closed":
        ledger.add_event(it, user=None, action="closed", now=closed)
    return it


class November:
    """hospital_a, November 2026 (see each line for what it tests). Expected figures:
    discharges 5, deceased 1, eligible 4, followed 2, on time 1, lost 1."""

    def __init__(self, world):
        w = self.world = world
        self.cashier = Ward(hospital=w.hospital_a, code="SFC", name="收费处", kind="functional")
        db.session.add(self.cashier)
        db.session.commit()
        c = w.cardiology
        # c1: both levels done on time.
        self.c1 = w.discharge(c, discharged=date(2026, 11, 3))
        follow(self.c1, Level.WARD, completed=local(2026, 11, 5))
        self.r1 = hospital_record(self.c1, local(2026, 11, 5), w.centre, overall=5, doctors=4, nurses=5,
                                  environment=3, cost=2, process=4)
        # c2: ward level done late (due before 18 Nov 00:00), hospital level lost.
        self.c2 = w.discharge(c, discharged=date(2026, 11, 10))
        follow(self.c2, Level.WARD, completed=local(2026, 11, 20))
        follow(self.c2, Level.HOSPITAL, status=TaskStatus.LOST)
        # c3: lost at both levels → one lost patient.
        self.c3 = w.discharge(c, discharged=date(2026, 11, 20))
        follow(self.c3, Level.WARD, status=TaskStatus.LOST)
        follow(self.c3, Level.HOSPITAL, status=TaskStatus.LOST)
        # c4: died in hospital: counted as a discharge, not eligible, no tasks.
        self.c4 = w.discharge(c, discharged=date(2026, 11, 22), disposition="5")
        # o1: 23:30 on 30 November local time (15:30 UTC): November.
        self.o1 = w.discharge(w.orthopaedics, discharged=local(2026, 11, 30, 23, 30))
        # o2: 00:10 on 1 December local time (still 30 November in UTC): December.
        self.o2 = w.discharge(w.orthopaedics, discharged=local(2026, 12, 1, 0, 10))
        # o3: October; its hospital-level call was at 23:59 on 30 November: November satisfaction.
        self.o3 = w.discharge(w.orthopaedics, discharged=date(2026, 10, 31))
        hospital_record(self.o3, local(2026, 11, 30, 23, 59), w.centre, overall=3, nurses=4)
        hospital_record(self.o2, local(2026, 12, 1, 0, 0), w.centre, overall=1)  # December
        self.o4 = w.discharge(w.orthopaedics, discharged=date(2026, 10, 2))
        hospital_record(self.o4, local(2026, 10, 6), w.centre, overall=4)  # October, for the trend
        # Another hospital's November: never in hospital_a's figures.
        self.b1 = w.discharge(w.ward_b, discharged=date(2026, 11, 5))
        follow(self.b1, Level.WARD, completed=local(2026, 11, 6))
        hospital_record(self.b1, local(2026, 11, 6), w.centre_b, overall=2)

        self.complaint = opinion(self.c1, "结账窗口排队一个多小时", "complaint", "cost", w.centre,
                                 local(2026, 11, 5), ward=self.cashier)
        self.praise = opinion(self.c1, "王护士很耐心", "praise", "service_attitude", w.centre,
                              local(2026, 11, 5), ward=c)
        self.suggestion = opinion(self.c1, "停车位太少", "suggestion", "parking_access", w.centre,
                                  local(2026, 11, 6))
        opinion(self.o2, "十二月的投诉", "complaint", "food", w.centre, local(2026, 12, 1, 0, 0), ward=c)
        opinion(self.b1, "另一家医院的投诉", "complaint", "food", w.centre_b, local(2026, 11, 6), ward=w.ward_b)

        h = w.hospital_a
        # Ledger: open and overdue at the end of November (due 20 Nov) ...
        self.item_nov = item(h, self.cashier, "结账排队", local(2026, 11, 5), date(2026, 11, 20),
                             opinion=self.complaint)
        # ... carried over from October, still open, overdue ...
        self.item_oct = item(h, c, "十月的问题", local(2026, 10, 10), date(2026, 10, 25))
        # ... opened in October, closed on 15 November: open at the end of October only ...
        self.item_closed = item(h, c, "已整改", local(2026, 10, 12), date(2026, 10, 27),
                                status="closed", closed=local(2026, 11, 15))
        # ... created 25 November, answered, due in December: open, not overdue.
        self.item_responded = item(h, w.orthopaedics, "病房噪音", local(2026, 11, 25), date(2026, 12, 10),
                                   status="responded")
        db.session.commit()


@pytest.fixture
def november(world):
    return November(world)
