"""Issue 17, last sub-case: a row whose ID number is malformed (bad check digit, wrong length, a
birth date or sex inside it contradicting the row) names a patient and a stay, so it is kept: the
discharge and its tasks are stored, the number is set aside (encrypted, with its reason, never
used as identity), the batch says which row and field as a warning, the ward corrects it on 待补资料.
Its tasks stay callable: the phone is good, and a nurse can call a patient whose ID number is wrong.
Every input path (CSV, xlsx, HL7, FHIR) and the bulk path end in the same row code."""
import csv
import io
import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from followup.calls import queueing
from followup.core.clock import LOCAL_TZ, utcnow
from followup.imports.run import rejected_rows
from followup.models import Discharge, FollowupTask, Hospital, Patient
from tests.import_files import ID_FEMALE, ID_MALE, adt_a03, csv_bytes, fhir_bundle, row, xlsx_bytes
from tests import import_files
from tests.import_files import stay

NOON = datetime(2026, 11, 12, 10, 0, tzinfo=LOCAL_TZ)

MALFORMED = [  # (cells, reason fragment of the msgid)
    (dict(id_number="371502196005010013"), "check digit"),
    (dict(id_number="3715021960050100"), "18 characters"),
    (dict(id_number=ID_MALE, born="1960-05-02"), "birth date differs"),
    (dict(id_number=ID_MALE, sex="女"), "sex differs"),
]


def imported(world, db, data, source=None):
    batch = import_files.imported(world, data, source=source)
    assert batch.status == "completed", batch.error
    return batch


def assert_kept_and_set_aside(db, no, raw, reason):
    d = stay(db, no)
    assert d is not None, f"{no} was not kept"
    assert len(d.tasks) == 2 and {t.needs_data for t in d.tasks} == {None}  # callable: the phone is good
    assert d.id_number_raw == raw and reason in d.id_number_issue
    assert d.patient.id_number_hash is None and d.patient.id_number_masked is None  # not the identity
    stored = db.session.execute(text("SELECT id_number_raw FROM discharge WHERE id = :id"), {"id": d.id}).scalar()
    assert raw.encode() not in bytes(stored)  # encrypted like the other personal data


@pytest.mark.parametrize("cells, reason", MALFORMED)
def test_a_csv_row_with_a_malformed_id_number_is_kept_with_the_number_set_aside(world, db, cells, reason):
    b = imported(world, db, csv_bytes([row(no="M1", **cells), row(no="M2", id_number="")]))
    assert (b.read, b.inserted, b.rejected, b.warned) == (2, 2, 0, 1)
    assert_kept_and_set_aside(db, "M1", cells["id_number"], reason)
    [note] = list(rejected_rows(b.id))
    assert (note.row_no, note.kept, [e["field"] for e in note.errors]) == (2, True, ["id_number"])
    assert reason in note.errors[0]["reason"] and cells["id_number"] not in note.original  # masked


def test_an_xlsx_row_with_a_malformed_id_number_is_kept(world, db):
    b = imported(world, db, xlsx_bytes([row(no="X1", id_number="371502196005010013"), row(no="X2")]),
                 source="xlsx")
    assert (b.inserted, b.rejected, b.warned) == (2, 0, 1)
    assert_kept_and_set_aside(db, "X1", "371502196005010013", "check digit")
    assert stay(db, "X2").patient.id_number_hash is not None


def test_an_hl7_message_with_a_malformed_id_number_is_kept(world, db):
    messages = "\r".join([adt_a03("H1", no="H1", id_number="11010519491231002Y"),
                          adt_a03("H2", no="H2", id_number=ID_FEMALE, born="19491230")])
    b = imported(world, db, messages.encode(), source="hl7")
    assert (b.read, b.inserted, b.rejected, b.warned) == (2, 2, 0, 2)
    assert_kept_and_set_aside(db, "H1", "11010519491231002Y", "check digit")
    assert_kept_and_set_aside(db, "H2", ID_FEMALE, "birth date differs")


def test_a_fhir_encounter_with_a_malformed_id_number_is_kept(world, db):
    b = imported(world, db, fhir_bundle([dict(no="F1", id_number="110105194912310021"), dict(no="F2")]),
                 source="fhir")
    assert (b.inserted, b.rejected, b.warned) == (2, 0, 1)
    assert_kept_and_set_aside(db, "F1", "110105194912310021", "check digit")


def test_the_bulk_path_keeps_and_flags_them_the_same(world, db):
    """Big files take the COPY path on PostgreSQL (and the staging path on SQLite)."""
    rows = [row(no=f"B{i:03d}", id_number="371502196005010013" if i % 4 == 0 else "") for i in range(40)]
    b = imported(world, db, csv_bytes(rows))
    assert (b.inserted, b.rejected, b.warned) == (40, 0, 10)
    flagged = {d.inpatient_no for d in db.session.scalars(select(Discharge).where(Discharge.id_number_issue.is_not(None)))}
    assert flagged == {f"B{i:03d}" for i in range(0, 40, 4)}
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 80
    # Each set-aside row is its own patient, as a row without an ID number is.
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 40


def test_a_row_rejected_for_another_reason_also_names_its_id_number_problem(world, db):
    b = imported(world, db, csv_bytes([row(no="R1", id_number="371502196005010013", discharged="2099-01-01")]))
    assert (b.inserted, b.rejected, b.warned) == (0, 1, 0)
    [r] = list(rejected_rows(b.id))
    assert not r.kept and {e["field"] for e in r.errors} == {"discharge_at", "id_number"}


def test_the_rejected_rows_csv_lists_the_kept_row_as_imported_with_its_reason(world, db, as_user):
    b = imported(world, db, csv_bytes([row(no="C1", id_number="371502196005010013"), row(no="C2", name="")]))
    admin = as_user(world.hospital_admin)
    got = admin.get(f"/imports/{b.id}/rejected.csv")
    lines = list(csv.reader(io.StringIO(got.get_data(as_text=True).lstrip("\ufeff"))))
    reasons = {ln[0]: ln[-1] for ln in lines[1:]}
    assert "校验码不符" in reasons["C1"] and "已导入" in reasons["C1"]
    assert "必填" in reasons["C2"] and "已导入" not in reasons["C2"]
    page = admin.get(f"/imports/{b.id}").get_data(as_text=True)
    assert "已导入，该值待更正" in page and "未导入" in page and "已导入但需更正" in page


def test_the_api_says_which_rows_were_kept_with_a_warning(world, db, client):
    from followup.imports.batches import create_api_token
    _row, token = create_api_token(world.hospital_a, "HIS", utcnow())
    db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    sent = client.post("/api/v1/imports/files", headers=auth,
                       data=csv_bytes([row(no="A1", id_number="371502196005010013"), row(no="A2", name="")]))
    assert sent.status_code == 202, sent.get_data(as_text=True)
    batch_id = sent.get_json()["batch"]
    got = client.get(f"/api/v1/imports/{batch_id}", headers=auth).get_json()
    assert (got["status"], got["inserted"], got["rejected"], got["warned"]) == ("completed", 1, 1, 1)
    notes = client.get(f"/api/v1/imports/{batch_id}/rejected", headers=auth).get_json()
    assert [(n["row"], n["kept"], n["errors"][0]["field"]) for n in notes] == [(2, True, "id_number"), (3, False, "name")]
    assert notes[0]["errors"][0]["reason"] == "校验码不符（GB 11643）"


# --- calling, rates, the ward's page --------------------------------------------------------------

@pytest.fixture
def set_aside(world, db):
    imported(world, db, csv_bytes([row(no="Q1", id_number="371502196005010013", discharged="2026-11-09 10:00"),
                                   row(no="Q2", id_number="", discharged="2026-11-10 10:00")]))
    return stay(db, "Q1"), stay(db, "Q2")


def test_a_stay_whose_only_problem_is_its_id_number_is_callable(world, db, set_aside):
    q1, _q2 = set_aside
    first = queueing.next_task(world.nurse, NOON)
    assert first.discharge_id == q1.id  # the earliest deadline, nothing stops the call
    db.session.rollback()


@pytest.mark.parametrize("group_by", ["ward", "hospital", "county", "city"])
def test_rates_keep_the_stay_in_every_denominator(world, db, set_aside, group_by):
    from followup.reports import rates as R
    rows = R.rates(select(Hospital.id).where(Hospital.id == world.hospital_a.id), date(2026, 11, 1),
                   date(2026, 12, 1), group_by, now=NOON)
    totals = R.total(rows)
    assert (totals["eligible"], totals["needs_data"], totals["followed"]) == (2, 0, 0)
    assert totals["not_yet_due"] == 2  # both stays counted and callable, neither on the needs-data line


def test_the_ward_sees_and_corrects_the_id_number(world, db, set_aside, as_user):
    q1, _q2 = set_aside
    nurse = as_user(world.nurse)
    page = nurse.get("/calls/needs-data/").get_data(as_text=True)
    section = page[page.index('id="bad-id-numbers"'):]
    assert "身份证号有误" in section and "校验码不符" in section and "371502********0013" in section
    assert set(re.findall(r"(?<![A-Za-z0-9])Q[12](?![A-Za-z0-9])", section)) == {"Q1"}
    assert "371502196005010013" not in page  # shown masked, as every ID number
    bad = nurse.post(f"/calls/needs-data/{q1.id}", data={"id_number": "371502196005010014"}, follow_redirects=True)
    assert "校验码不符" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert stay(db, "Q1").id_number_issue is not None
    assert as_user(world.ortho_nurse).post(f"/calls/needs-data/{q1.id}", data={"id_number": ID_MALE}).status_code == 404
    assert nurse.post(f"/calls/needs-data/{q1.id}", data={"id_number": ID_MALE}).status_code == 302
    db.session.expire_all()
    q1 = stay(db, "Q1")
    assert (q1.id_number_raw, q1.id_number_issue) == (None, None)
    assert q1.patient.id_number_masked == "371502********0016" and q1.patient.id_number_hash
    # The next stay of the same person now joins this patient.
    imported(world, db, csv_bytes([row(no="Q3", id_number=ID_MALE, discharged="2026-11-11 10:00")]))
    assert stay(db, "Q3").patient_id == q1.patient_id


def test_a_corrected_row_sent_again_gives_the_patient_the_number(world, db):
    imported(world, db, csv_bytes([row(no="K1", id_number="371502196005010013")]))
    b = imported(world, db, csv_bytes([row(no="K1", id_number=ID_MALE)]))
    assert (b.updated, b.warned) == (1, 0)
    k1 = stay(db, "K1")
    assert (k1.id_number_raw, k1.id_number_issue) == (None, None) and k1.patient.id_number_hash is not None


def test_an_unknown_id_document_type_sets_the_number_aside_and_keeps_the_stay(world, db):
    """An unknown 证件类型 code made the whole row a rejection: the stay was lost. The number
    beside an unknown type names nobody for sure, so it is set aside like a malformed one; a row
    with an unknown type and no number is simply kept."""
    from tests.import_files import CN_HEADERS
    rows = [row(no="T1") + ["军官证X"], row(no="T2", id_number="") + ["不明证件"], row(no="T3") + ["身份证"]]
    b = imported(world, db, csv_bytes(rows, headers=CN_HEADERS + ["证件类型"]))
    assert (b.read, b.inserted, b.rejected, b.warned) == (3, 3, 0, 1)
    assert_kept_and_set_aside(db, "T1", ID_MALE, "unknown ID document type")
    assert stay(db, "T1").patient.id_type == "resident"
    kept_plain = stay(db, "T2")
    assert kept_plain is not None and kept_plain.id_number_issue is None and kept_plain.id_number_raw in (None, "")
    assert stay(db, "T3").patient.id_number_hash is not None  # a known type: the number is the identity
    [note] = list(rejected_rows(b.id))
    assert (note.row_no, note.kept, [e["field"] for e in note.errors]) == (2, True, ["id_number"])
