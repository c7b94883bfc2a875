"""Issue 17, item 8: stays are kept and flagged, never lost. HL7 table 0112 dispositions map to
离院方式 (with a hospital's own codes on top); a stay with no 离院方式 or no valid phone is stored
with its tasks marked needs data: due and counted in the rates, not callable, listed for the
ward to complete. Only rows that cannot name a patient or a stay are rejected (in Chinese)."""
import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from followup.calls import Conflict, queueing
from followup.core.clock import LOCAL_TZ
from followup.imports.run import rejected_rows
from followup.models import Discharge
from tests.import_files import adt_a03, csv_bytes, row
from tests import import_files
from tests.import_files import stay

NOON = datetime(2026, 11, 12, 10, 0, tzinfo=LOCAL_TZ)  # within calling hours, after the discharges


def imported(world, db, data, source=None):
    batch = import_files.imported(world, data, source=source)
    assert batch.status == "completed", batch.error
    return batch


def needs(d: Discharge) -> set:
    return {t.needs_data for t in d.tasks}


@pytest.mark.parametrize("pv1_36, disposition, tasks", [
    ("01", "1", 2), ("02", "2", 2), ("07", "4", 2), ("20", "5", 0), ("40", "5", 0), ("41", "5", 0),
    ("42", "5", 0), ("01^Discharged to home^HL70112", "1", 2),
])
def test_hl7_table_0112_dispositions_are_read_as_their_discharge_disposition(world, db, pv1_36, disposition, tasks):
    b = imported(world, db, adt_a03(disposition=pv1_36).encode(), source="hl7")
    d = stay(db, "ZY9001")
    assert (b.inserted, b.rejected, d.disposition, len(d.tasks)) == (1, 0, disposition, tasks)
    assert needs(d) <= {None}


def test_the_public_adt_a03_samples_are_kept(world, db):
    """HAPI's and the v2.8 samples carry 0112 codes or no PV1-36 at all: all were rejected."""
    messages = "\r".join([adt_a03("S1", no="S1", disposition="01"), adt_a03("S2", no="S2", disposition=""),
                          adt_a03("S3", no="S3", disposition="20")])
    b = imported(world, db, messages.encode(), source="hl7")
    assert (b.read, b.inserted, b.rejected) == (3, 3, 0)
    assert needs(stay(db, "S2")) == {"disposition"} and stay(db, "S2").disposition == ""


def test_a_hospitals_own_code_wins_over_the_standard_table(world, db, runner):
    out = runner.invoke(args=["followup", "import-code", "--hospital", "HA", "disposition", "07", "2"])
    assert out.exit_code == 0, out.output
    imported(world, db, adt_a03(disposition="07").encode(), source="hl7")
    assert stay(db, "ZY9001").disposition == "2"  # 0112 says 4 (against advice); this HIS means 医嘱转院
    imported(world, db, csv_bytes([row(no="C1", disposition="07")]))
    assert stay(db, "C1").disposition == "2" and needs(stay(db, "C1")) == {None}


@pytest.mark.parametrize("cells, missing", [
    (dict(disposition=""), "disposition"), (dict(disposition="8"), "disposition"),
    (dict(phone=""), "phone"), (dict(phone="13800138000x"), "phone"), (dict(phone="4008208820"), "phone"),
    (dict(phone="12345678901", disposition=""), "phone,disposition"),
])
def test_a_csv_stay_without_phone_or_disposition_is_kept_and_flagged(world, db, cells, missing):
    b = imported(world, db, csv_bytes([row(no="N1", id_number="", **cells), row(no="N2", id_number="")]))
    assert (b.read, b.inserted, b.rejected) == (2, 2, 0)
    d = stay(db, "N1")
    assert len(d.tasks) == 2 and needs(d) == {missing} and needs(stay(db, "N2")) == {None}


def test_only_rows_that_name_no_patient_or_stay_are_rejected_with_chinese_reasons(world, db, app):
    from followup.routes.imports import reason_text
    b = imported(world, db, csv_bytes([row(no="", id_number=""), row(no="R2", name="", id_number=""),
                                       row(no="R3", discharged="", id_number=""), row(no="R4", ward="", id_number="")]))
    assert (b.inserted, b.rejected) == (0, 4)
    reasons = {r.row_no: [(e["field"], reason_text(e)) for e in r.errors] for r in rejected_rows(b.id)}
    assert reasons == {2: [("inpatient_no", "必填")], 3: [("name", "必填")], 4: [("discharge_at", "必填")],
                       5: [("ward", "必填")]}  # was: "Length must be between 1 and 32."
    long = imported(world, db, csv_bytes([row(no="X" * 40, id_number="")]))
    [r] = rejected_rows(long.id)
    assert reason_text(r.errors[0]) == "过长：最多 32 个字符"


def test_the_same_rows_on_the_bulk_path_are_flagged_the_same(world, db, app):
    """Big files take the COPY path on PostgreSQL (and the staging path on SQLite)."""
    rows = [row(no=f"B{i:03d}", id_number="", phone="" if i % 3 == 0 else "13800138000",
                disposition="" if i % 5 == 0 else "1") for i in range(30)]
    imported(world, db, csv_bytes(rows))
    got = {d.inpatient_no: needs(d) for d in db.session.scalars(select(Discharge))}
    expect = {f"B{i:03d}": {",".join(n for n, missing in (("phone", i % 3 == 0), ("disposition", i % 5 == 0))
                                     if missing) or None} for i in range(30)}
    assert got == expect


def test_a_known_patients_phone_covers_a_stay_whose_row_lacks_one(world, db):
    from tests.import_files import ID_MALE
    imported(world, db, csv_bytes([row(no="P1", id_number=ID_MALE)]))
    imported(world, db, csv_bytes([row(no="P2", id_number=ID_MALE, phone="", discharged="2026-11-11 09:00")]))
    p2 = stay(db, "P2")
    assert needs(p2) == {None} and p2.patient.phone == "+8613800138000"  # not erased by the empty cell


def test_a_corrected_row_with_the_missing_data_clears_the_flag(world, db):
    imported(world, db, csv_bytes([row(no="K1", id_number="", phone="")]))
    assert needs(stay(db, "K1")) == {"phone"}
    b = imported(world, db, csv_bytes([row(no="K1", id_number="", phone="13900139000")]))
    assert b.updated == 1 and needs(stay(db, "K1")) == {None}


# --- queues, rates, the ward's page ---------------------------------------------------------------

@pytest.fixture
def flagged(world, db):
    imported(world, db, csv_bytes([row(no="Q1", id_number="", phone="", discharged="2026-11-09 10:00"),
                                   row(no="Q2", id_number="", discharged="2026-11-10 10:00")]))
    return stay(db, "Q1"), stay(db, "Q2")


def test_needs_data_tasks_are_due_but_never_offered_to_call(world, db, flagged):
    q1, q2 = flagged
    ward_task = next(t for t in q1.tasks if t.level == "ward")
    counts = queueing.queue_counts(world.nurse, NOON)
    first = queueing.next_task(world.nurse, NOON)
    assert first.discharge_id == q2.id  # Q1 is due earlier, but has no number to call
    queueing.release_task(world.nurse, first, NOON)
    with pytest.raises(Conflict):
        queueing.claim_task(world.nurse, ward_task.id, NOON)
    assert sum(v for k, v in counts.items() if k != "done_today") >= 2  # still counted as due
    db.session.rollback()


def test_rates_count_needs_data_stays_in_the_denominator_and_on_their_own_line(world, db, flagged):
    from followup.reports import rates as R
    from followup.models import Hospital
    rows = R.rates(select(Hospital.id).where(Hospital.id == world.hospital_a.id), date(2026, 11, 1),
                   date(2026, 12, 1), now=NOON)
    totals = rows[world.hospital_a.id]
    assert (totals["eligible"], totals["needs_data"], totals["followed"]) == (2, 1, 0)
    assert totals["not_yet_due"] == 1  # Q2: callable, its deadline ahead; Q1 is its own line


def test_the_ward_completes_a_phone_and_the_task_becomes_callable(world, db, flagged, as_user):
    q1, _q2 = flagged
    nurse = as_user(world.nurse)
    page = nurse.get("/calls/needs-data/")
    listed = set(re.findall(r"(?<![A-Za-z0-9])Q[12](?![A-Za-z0-9])", page.get_data(as_text=True)))
    assert page.status_code == 200 and listed == {"Q1"}  # (a CSRF token may hold "Q2" by chance)
    assert as_user(world.ortho_nurse).post(f"/calls/needs-data/{q1.id}", data={"phone": "13900139000"}).status_code == 404
    bad = nurse.post(f"/calls/needs-data/{q1.id}", data={"phone": "12345"}, follow_redirects=True)
    assert "不是有效的电话号码" in bad.get_data(as_text=True) and needs(stay(db, "Q1")) == {"phone"}
    ok = nurse.post(f"/calls/needs-data/{q1.id}", data={"phone": "010-12345678转8"})
    assert ok.status_code == 302
    db.session.expire_all()
    q1 = stay(db, "Q1")
    assert needs(q1) == {None} and q1.patient.phone == "+861012345678;ext=8"
    assert queueing.next_task(world.nurse, NOON).discharge_id == q1.id  # the earliest deadline, callable now
    db.session.rollback()


def test_completing_a_disposition_of_died_closes_the_tasks(world, db, as_user):
    imported(world, db, csv_bytes([row(no="D1", id_number="", disposition="")]))
    d = stay(db, "D1")
    assert as_user(world.nurse).post(f"/calls/needs-data/{d.id}", data={"disposition": "5"}).status_code == 302
    db.session.expire_all()
    d = stay(db, "D1")
    assert d.disposition == "5" and {(t.status, t.close_reason, t.needs_data) for t in d.tasks} == \
        {("closed", "deceased", None)}


def test_only_ward_nurses_see_the_page(world, db, flagged, as_user):
    for user in (world.centre, world.qa, world.hospital_admin, world.sys_admin):
        assert as_user(user).get("/calls/needs-data/").status_code == 404
