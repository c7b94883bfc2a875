"""The monthly summary's figures against hand-counted answers and against a recount from the
raw tables."""
import random
from datetime import date, timedelta

from sqlalchemy import select

from followup.core.clock import utcnow
from followup.models import Discharge, Level, TaskStatus
from followup.reports import monthly, rates

from .conftest import follow, local

NOW = local(2026, 12, 3)


def test_hospital_totals_match_the_hand_counted_november(november):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    t = s["totals"]
    assert (t["discharges"], t["deceased"], t["eligible"]) == (5, 1, 4)
    assert (t["followed"], t["on_time"], t["lost"]) == (2, 1, 1)
    assert (t["ward_done"], t["ward_on_time"], t["hospital_done"], t["hospital_on_time"]) == (2, 1, 1, 1)
    # o1 (30 Nov 23:30) is not yet due on 3 December: due 3, no documented exception.
    assert (t["not_yet_due"], t["due"], t["reached"], t["exceptions"], t["overdue"]) == (1, 3, 2, 0, 0)
    assert t["followup_rate"] == 2 / 3 and t["raw_rate"] == 2 / 3
    assert t["on_time_rate"] == 1 / 3 and t["hospital_rate"] == 1 / 3


def test_ward_rows_split_the_hospital_and_the_deceased_are_not_eligible(november):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    by_ward = {r["ward"]: r for r in s["wards"]}
    assert (by_ward["心内科"]["discharges"], by_ward["心内科"]["eligible"], by_ward["心内科"]["followed"]) == (4, 3, 2)
    assert (by_ward["骨科"]["discharges"], by_ward["骨科"]["followed"]) == (1, 0)
    assert by_ward["骨科"]["followup_rate"] is None  # its only discharge is not yet due
    assert by_ward["骨科"]["not_yet_due"] == 1


def test_a_discharge_at_0010_on_the_first_local_day_counts_in_the_new_month(november):
    dec = monthly.build(november.world.hospital_a.id, "2026-12", now=local(2027, 1, 2))
    assert dec["totals"]["discharges"] == 1  # o2, though it is still 30 November in UTC
    oct_ = monthly.build(november.world.hospital_a.id, "2026-10", now=NOW)
    assert oct_["totals"]["discharges"] == 2


def test_satisfaction_counts_by_the_local_month_the_call_was_recorded(november):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    cur = s["satisfaction"]["current"]
    assert cur["n"] == 2  # 5 Nov and 23:59 on 30 Nov; not 00:00 on 1 Dec, not hospital_b's
    assert cur["overall"] == 4.0 and cur["doctors"] == 4.0 and cur["nurses"] == 4.5
    assert s["satisfaction"]["months"][-2:] == ["2026-10", "2026-11"]
    assert s["satisfaction"]["series"]["overall"][-2:] == [4.0, 4.0]
    assert s["satisfaction"]["n"][-2:] == [1, 2]


def test_opinions_are_counted_by_category_and_department(november):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)
    op = s["opinions"]
    assert op["total"] == 3 and op["by_sentiment"] == {"complaint": 1, "suggestion": 1, "praise": 1}
    cells = {(r["ward"], cat): n for r in op["rows"] for cat, n in r["counts"].items()}
    assert cells == {("收费处", "cost"): 1, ("心内科", "service_attitude"): 1, ("", "parking_access"): 1}
    assert [c["text"] for c in s["complaints"]] == ["结账窗口排队一个多小时"]
    assert s["complaints"][0]["item_status"] == "open"
    assert [p["text"] for p in s["praise"]] == ["王护士很耐心"]


def test_open_items_carry_over_and_overdue_items_are_counted_at_month_end(november):
    nov = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW)["ledger"]
    assert {i["id"] for i in nov["items"]} == {november.item_nov.id, november.item_oct.id,
                                               november.item_responded.id}
    assert (nov["open"], nov["overdue"], nov["carried_over"], nov["opened"], nov["closed"]) == (3, 2, 1, 2, 1)
    oct_ = monthly.build(november.world.hospital_a.id, "2026-10", now=NOW)["ledger"]
    # The item closed on 15 November was still open (and overdue) at the end of October.
    assert {i["id"] for i in oct_["items"]} == {november.item_oct.id, november.item_closed.id}
    assert oct_["overdue"] == 2
    closed_then = next(i for i in oct_["items"] if i["id"] == november.item_closed.id)
    assert closed_then["status"] == "open"


def test_the_auditors_view_has_figures_but_no_patients_words(november):
    s = monthly.build(november.world.hospital_a.id, "2026-11", now=NOW, words=False)
    assert "complaints" not in s and "praise" not in s
    assert all("problem" not in i for i in s["ledger"]["items"])
    assert s["totals"]["eligible"] == 4


def test_rates_group_hospitals_into_counties_and_the_city(november):
    w = november.world
    from followup.core.access import hospital_ids_select
    sel = hospital_ids_select(w.city_auditor)
    by_county = rates.rates(sel, date(2026, 11, 1), date(2026, 12, 1), "county", now=NOW)
    assert by_county[w.county_a.id]["eligible"] == 4 and by_county[w.county_b.id]["eligible"] == 1
    city = rates.rates(sel, date(2026, 11, 1), date(2026, 12, 1), "city", now=NOW)
    assert city == {w.city.id: rates.total(by_county)}


def test_summary_totals_equal_a_recount_from_the_raw_tables(world, db):
    rng = random.Random(6)
    for i in range(60):
        ward = rng.choice([world.cardiology, world.orthopaedics])
        d = world.discharge(ward, discharged=date(2026, 11, 1) + timedelta(days=rng.randrange(30)),
                            disposition=rng.choice("1111111125"))
        for t in d.tasks:
            status = rng.choice([TaskStatus.DONE, TaskStatus.DONE, TaskStatus.LOST, TaskStatus.OPEN])
            follow(d, t.level, status, completed=t.due_at + timedelta(hours=rng.choice([-30, -1, 1, 30])))
    db.session.commit()
    got = monthly.build(world.hospital_a.id, "2026-11", now=utcnow())["totals"]
    fields = ("discharges", "deceased", "eligible", "followed", "on_time", "lost", "ward_done", "ward_on_time",
              "hospital_done", "hospital_on_time")
    recount = dict.fromkeys(fields, 0)
    for d in db.session.scalars(select(Discharge).where(Discharge.hospital_id == world.hospital_a.id)):
        recount["discharges"] += 1
        if not d.eligible:
            recount["deceased"] += 1
            assert d.tasks == []
            continue
        recount["eligible"] += 1
        done = {t.level for t in d.tasks if t.status == TaskStatus.DONE}
        timely = {t.level for t in d.tasks if t.status == TaskStatus.DONE and t.completed_at <= t.due_at}
        recount["followed"] += bool(done)
        recount["on_time"] += bool(timely)
        recount["lost"] += (not done) and any(t.status == TaskStatus.LOST for t in d.tasks)
        for lv in Level:
            recount[f"{lv}_done"] += lv in done
            recount[f"{lv}_on_time"] += lv in timely
    assert {f: got[f] for f in fields} == recount
    assert recount["eligible"] > 0 and recount["lost"] > 0 and recount["on_time"] > 0


def test_the_summary_opens_on_the_month_in_progress_and_says_how_months_are_counted(world, as_user):
    import time_machine
    with time_machine.travel(local(2026, 11, 30, 10), tick=False):
        page = as_user(world.qa).get("/qa/summary").get_data(as_text=True)
    assert "2026-11" in page and "本月截至今日" in page
    assert "按出院月份统计" in page and "按回访所在月份统计" in page
    with time_machine.travel(local(2026, 12, 1, 9), tick=False):
        page = as_user(world.qa).get("/qa/summary?month=2026-11").get_data(as_text=True)
    assert "本月截至今日" not in page


def test_on_the_first_days_of_a_month_with_nothing_discharged_yet_qa_opens_on_the_month_before(world, as_user):
    import time_machine
    world.discharge(discharged=date(2026, 11, 20))
    with time_machine.travel(local(2026, 12, 1, 2), tick=False):  # 02:00 on the 1st: December is empty
        page = as_user(world.qa).get("/qa/summary").get_data(as_text=True)
    assert 'value="2026-11"' in page and "本月截至今日" not in page
    with time_machine.travel(local(2026, 12, 8, 9), tick=False):  # past the first days: the month in progress
        page = as_user(world.qa).get("/qa/summary").get_data(as_text=True)
    assert 'value="2026-12"' in page and "本月截至今日" in page
