"""The commission's composite monthly score: recomputed from raw rows it matches; hospitals in
the bottom N two months running are named; the month is locked on the 3rd of the next month and
later changes show as corrections; the notice comes as PDF (SVG chart) and Excel (native chart)."""
import zipfile
from datetime import date, timedelta
from io import BytesIO

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from followup.core.clock import utcnow
from followup.models import AuditEvent, Level
from followup.models.call import HospitalFollowup
from followup.models.opinion import Opinion, RectificationItem
from followup.models.sample import AuditSample, SampledRecord
from followup.models.scoring import CommissionSnapshot
from followup.reports import commission, scoring

from .conftest import local

NOV = "2026-11"
WEIGHTS = {"followup_rate": 25, "on_time_rate": 20, "satisfaction": 20, "complaints": 10,
           "audit_consistency": 15, "items_on_time": 10}


def finish(db, task, when, sat=None, caller=None):
    task.status, task.completed_at = "done", when
    if sat is not None:
        db.session.add(HospitalFollowup(task_id=task.id, recorded_by_id=caller.id, recorded_at=when, sat_overall=sat))


def tasks(d):
    return {t.level: t for t in d.tasks}


def audited(world, db, results):
    s = AuditSample(region_id=world.county_a.id, period_start=date(2026, 10, 1), period_end=date(2026, 11, 1),
                    rate="0.01", algorithm="test", system_seed="0" * 64, public_seed="x", population_size=10,
                    population_digest="0" * 64, sample_size=len(results), sample_digest="0" * 64)
    db.session.add(s)
    db.session.flush()
    for i, cls in enumerate(results):
        d = world.discharge(world.cardiology, discharged=date(2026, 10, 5), tasks=False)
        db.session.add(SampledRecord(sample_id=s.id, hospital_id=world.hospital_a.id, discharge_id=d.id, position=i + 1,
                                     classification=cls, recorded_at=local(2026, 11, 20)))


def hospital_a_november(world, db):
    """Hospital A's November, with every figure known by construction."""
    d1, d2, d3 = (world.discharge(world.cardiology, discharged=date(2026, 11, 10)) for _ in range(3))
    world.discharge(world.cardiology, discharged=date(2026, 11, 10), disposition="5")  # died: not eligible
    finish(db, tasks(d1)[Level.WARD], local(2026, 11, 12))
    finish(db, tasks(d1)[Level.HOSPITAL], local(2026, 11, 12), sat=5, caller=world.centre)
    finish(db, tasks(d2)[Level.WARD], local(2026, 11, 19))  # late (due 18 Nov 00:00)
    finish(db, tasks(d2)[Level.HOSPITAL], local(2026, 11, 20), sat=3, caller=world.centre)
    db.session.add(Opinion(hospital_id=world.hospital_a.id, discharge_id=d1.id, text="收费不清", sentiment="complaint",
                           category="cost", original_sentiment="complaint", original_category="cost",
                           recorded_by_id=world.centre.id, recorded_at=local(2026, 11, 12)))
    audited(world, db, ["consistent", "consistent", "consistent", "suspected_false", "not_verifiable"])
    for due, closed in ((date(2026, 11, 15), local(2026, 11, 15, 20)), (date(2026, 11, 16), local(2026, 11, 18)),
                        (date(2026, 11, 20), None)):
        db.session.add(RectificationItem(hospital_id=world.hospital_a.id, ward_id=world.cardiology.id, problem="x",
                                         due_date=due, closed_at=closed, status="closed" if closed else "open",
                                         created_at=local(2026, 11, 1)))
    db.session.commit()
    return d3


def test_the_composite_score_recomputed_from_raw_rows_matches(world, db):
    hospital_a_november(world, db)
    scoring.save_settings(world.city.id, {**WEIGHTS, "complaints_cap": 500, "bottom_n": 1}, user=world.city_auditor,
                          now=utcnow())
    rows = commission.month_rows(world.city.id, NOV, now=local(2026, 12, 2), settings=scoring.settings(world.city.id))
    a = next(r for r in rows if r["id"] == world.hospital_a.id)
    # By hand: 3 eligible (one died), 2 followed, 1 on time; satisfaction (5 + 3) / 2; 1 complaint in 4
    # discharges = 250 per 1,000; auditors 3 consistent of 4 verifiable; 1 of 3 items closed in time.
    expected_scores = {"followup_rate": 2 / 3 * 100, "on_time_rate": 1 / 3 * 100, "satisfaction": (4 - 1) / 4 * 100,
                       "complaints": 100 * (1 - 250 / 500), "audit_consistency": 75.0, "items_on_time": 1 / 3 * 100}
    expected = round(sum(WEIGHTS[k] * v for k, v in expected_scores.items()) / sum(WEIGHTS.values()), 2)
    assert (a["followup_rate"], a["on_time_rate"], a["satisfaction"]) == (2 / 3, 1 / 3, 4.0)
    assert (a["complaints_per_1000"], a["audit_consistency"], a["items_on_time"]) == (250.0, 0.75, 1 / 3)
    assert a["score"] == expected == 57.92
    assert a["city_rank"] == 1 and a["county_rank"] == 1
    others = [r for r in rows if r["id"] != world.hospital_a.id]
    assert all(r["score"] is None and r["city_rank"] is None for r in others)  # no figures: not ranked


def test_a_missing_figure_is_left_out_not_counted_as_zero():
    row = {"followup_rate": 0.5, "on_time_rate": None, "satisfaction": None, "complaints_per_1000": None,
           "audit_consistency": None, "items_on_time": 1.0}
    assert scoring.composite(row, WEIGHTS, 10) == round((25 * 50 + 10 * 100) / 35, 2)
    assert scoring.composite({k: None for k in row}, WEIGHTS, 10) is None


def _rates(world, db, month_day, done_counts):
    """One discharge per hospital and month; `done_counts` says which hospitals followed it up."""
    for ward, done in zip((world.cardiology, world.ward_b, world.ward_city), done_counts):
        d = world.discharge(ward, discharged=month_day)
        for t in d.tasks[:done]:
            finish(db, t, local(month_day.year, month_day.month, month_day.day + 1))
    db.session.commit()


def test_bottom_n_two_months_running_is_named(world, db):
    scoring.save_settings(world.city.id, {**{k: 0 for k in WEIGHTS}, "followup_rate": 1, "complaints_cap": 10,
                                          "bottom_n": 1}, user=world.city_auditor, now=utcnow())
    _rates(world, db, date(2026, 10, 5), (2, 0, 1))   # Oct: A 100 %, B 0 %, city hospital 100 % (either level)
    _rates(world, db, date(2026, 11, 5), (1, 0, 2))   # Nov: B last again
    fig = commission.figures(world.city.id, NOV, now=local(2026, 12, 1))
    flagged = {r["name"] for r in fig["rows"] if r["bottom_city_twice"]}
    assert flagged == {world.hospital_b.name}
    assert [r["name"] for r in fig["named"]] == [world.hospital_b.name]
    assert not any(r["bottom_county_twice"] for r in fig["rows"])  # one hospital per county: nobody to compare
    october = commission.figures(world.city.id, "2026-10", now=local(2026, 12, 1))
    assert not any(r["bottom_city_twice"] for r in october["rows"])  # bottom once is not named
    # Tied at the bottom: both are in it.
    rows = [{"id": i, "score": s} for i, s in enumerate([90, 50, 50])]
    assert scoring.bottom(rows, "score", 1) == {1, 2}
    assert scoring.bottom(rows[:1], "score", 1) == set()


def test_the_month_locks_on_the_3rd_and_later_changes_show_as_corrections(world, db, runner):
    scoring.save_settings(world.city.id, {**WEIGHTS, "complaints_cap": 500, "bottom_n": 1}, user=world.city_auditor,
                          now=utcnow())
    d3 = hospital_a_november(world, db)
    before = commission.figures(world.city.id, NOV, now=local(2026, 12, 2, 23, 59))
    assert not before["locked"] and commission.snapshot(world.city.id, NOV) is None
    first = commission.figures(world.city.id, NOV, now=local(2026, 12, 3, 0, 1))  # first view after the 3rd
    db.session.commit()
    assert first["locked"] and first["corrections"] == []
    locked_score = next(r["score"] for r in first["rows"] if r["id"] == world.hospital_a.id)
    # A late entry: D3's ward call is recorded as done in November after the lock.
    finish(db, tasks(d3)[Level.WARD], local(2026, 11, 15))
    db.session.commit()
    later = commission.figures(world.city.id, NOV, now=local(2026, 12, 5))
    a = next(r for r in later["rows"] if r["id"] == world.hospital_a.id)
    assert a["score"] == locked_score and a["followup_rate"] == 2 / 3  # the locked figures stand
    fix = next(c for c in later["corrections"] if c["id"] == world.hospital_a.id)
    changes = {c["field"]: c for c in fix["changes"]}
    assert changes["followup_rate"]["locked"] == 2 / 3 and changes["followup_rate"]["current"] == 1.0
    assert changes["on_time_rate"]["current"] == 2 / 3
    assert changes["score"]["diff"] == pytest.approx(changes["score"]["current"] - locked_score)
    assert changes["score"]["diff"] > 0
    # The daily job locks too, once; a locked month is never rewritten.
    from followup import jobs
    jobs.registered()
    with time_machine.travel(local(2026, 12, 4, 1), tick=False):
        assert runner.invoke(args=["followup", "cron", "--once"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(CommissionSnapshot)
                             .where(CommissionSnapshot.month == NOV)) == 1
    locks = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "commission.lock")).all()
    assert sorted(d["month"] for d in locks) == ["2026-10", NOV]  # October locked when November was first shown


def test_the_daily_job_locks_the_month_before_from_the_3rd(world, db):
    from followup.jobs.commission import commission_lock
    commission_lock(local(2026, 12, 2, 23).isoformat())
    assert db.session.scalar(select(func.count()).select_from(CommissionSnapshot)) == 0
    commission_lock(local(2026, 12, 3, 0, 5).isoformat())
    snap = db.session.scalar(select(CommissionSnapshot))
    assert (snap.region_id, snap.month) == (world.city.id, NOV)
    commission_lock(local(2026, 12, 9).isoformat())
    assert db.session.scalar(select(func.count()).select_from(CommissionSnapshot)) == 1


def test_pages_notice_and_weights_as_auditors_see_them(world, db, as_user):
    hospital_a_november(world, db)
    with time_machine.travel(local(2026, 12, 5, 9), tick=True):
        city = as_user(world.city_auditor)
        page = city.get(f"/commission/score?month={NOV}").get_data(as_text=True)
        assert world.hospital_a.name in page and world.hospital_b.name in page and "<svg" in page
        pdf = city.get(f"/commission/notice.pdf?month={NOV}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        xlsx = city.get(f"/commission/notice.xlsx?month={NOV}")
        names = zipfile.ZipFile(BytesIO(xlsx.data)).namelist()
        assert any(n.startswith("xl/charts/chart") for n in names)  # a native Excel chart
        ws = load_workbook(BytesIO(xlsx.data)).worksheets[0]
        assert world.hospital_a.name in [c.value for c in ws["C"]]
        county = as_user(world.county_auditor)
        page = county.get(f"/commission/score?month={NOV}").get_data(as_text=True)
        assert world.hospital_a.name in page and world.hospital_b.name not in page
        assert county.get("/commission/weights").status_code == 404
        assert "name=\"complaints_cap\"" in city.get("/commission/weights").get_data(as_text=True)
        assert county.post("/commission/weights", data={**WEIGHTS, "complaints_cap": 5, "bottom_n": 2}).status_code == 404
        resp = city.post("/commission/weights", data={**WEIGHTS, "satisfaction": 40, "complaints_cap": 20, "bottom_n": 2})
        assert resp.status_code == 302
        assert scoring.settings(world.city.id)["weights"]["satisfaction"] == 40
        assert city.post("/commission/weights", data={**{k: 0 for k in WEIGHTS}, "complaints_cap": 20,
                                                      "bottom_n": 2}).status_code == 400
        assert as_user(world.qa).get("/commission/score").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "commission.notice")) == 2
