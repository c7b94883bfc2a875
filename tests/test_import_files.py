"""HIS files in: records and tasks out; re-imports add nothing; corrections update; bad rows are
reported precisely while the good ones land."""
import json
from datetime import date

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from followup.imports.batches import receive_bytes
from followup.core.clock import utcnow
from followup.imports.run import ImportSettings, rejected_rows, run_batch
from followup.models import Discharge, FollowupTask, Patient
from followup.models.imports import ImportBatch
from followup.calls.scheduling import due_at_for
from tests.import_files import (CN_HEADERS, EN_HEADERS, ID_FEMALE, ID_MALE, counts, csv_bytes, imported, row,
                                 xlsx_bytes)


def discharges(db, **where):
    return db.session.scalars(select(Discharge).filter_by(**where).order_by(Discharge.inpatient_no)).all()


def test_gbk_csv_with_chinese_headers_gives_records_and_two_tasks_per_eligible_discharge(world, db):
    data = csv_bytes([row(), row(no="ZY0002", name="李四", sex="女", id_number=ID_FEMALE, born="1949-12-31",
                              phone="13900139000，010-12345678", ward="骨科", discharged="2026-11-11"),
                      row(no="ZY0003", name="王五", id_number="", disposition="死亡")], encoding="gbk")
    b = imported(world, data)
    assert b.status == "completed" and counts(b) == (3, 3, 0, 0, 0)
    d1, d2, d3 = discharges(db, hospital_id=world.hospital_a.id)
    assert (d1.ward_id, d1.disposition, d1.diagnosis_code, d1.admission_date) == \
        (world.cardiology.id, "1", "I10.x00", date(2026, 11, 1))
    assert d1.discharge_date == date(2026, 11, 10) and d1.discharge_at.hour == 2  # 10:30 Shanghai
    assert d1.medicine_list == ["阿司匹林 100mg qd"] and d1.rehab_instructions == "低盐饮食"
    assert d2.ward_id == world.orthopaedics.id
    p1, p2 = d1.patient, d2.patient
    assert (p1.name, p1.sex, p1.birth_date, p1.phone) == ("张三", "1", date(1960, 5, 1), "+8613800138000")
    assert p1.phone_masked == "138****8000" and p1.id_number_masked == "371502********0016"
    assert p2.phone == "+8613900139000" and p2.other_phones == "+861012345678"
    for d in (d1, d2):
        tasks = sorted((t.level, t.status, t.due_at, t.ward_id) for t in d.tasks)
        assert tasks == [(lvl, "open", due_at_for(d.discharge_date), d.ward_id) for lvl in ("hospital", "ward")]
    assert d3.disposition == "5" and d3.tasks == []  # died in hospital: never called


def test_no_raw_id_number_or_phone_is_stored_anywhere(world, db):
    # Row 2's ID number contradicts its sex and birth date: kept, the number set aside (encrypted).
    b = imported(world, csv_bytes([row(), row(no="ZY0009", phone="1380013800x", id_number=ID_FEMALE)]))
    assert (counts(b)[4], b.warned) == (0, 1)
    dump = []
    for table in db.metadata.sorted_tables:  # raw rows, as a database dump would show them
        for r in db.session.execute(text(f'SELECT * FROM "{table.name}"')).all():
            dump.append(" ".join(str(v) for v in r))
    everything = "\n".join(dump)
    assert ID_MALE not in everything
    assert ID_FEMALE not in everything
    assert "13800138000" not in everything
    [rej] = rejected_rows(b.id)
    assert rej.columns["身份证号"] == "110105********002X"


def test_utf8_bom_csv_with_english_headers_round_trips_rare_name_characters(world, db):
    b = imported(world, csv_bytes([row(name="龚䶮"), row(no="ZY0002", name="𠮷野", id_number="")],
                                  headers=EN_HEADERS, bom=True, newline="\n"))
    assert counts(b) == (2, 2, 0, 0, 0)
    assert [d.patient.name for d in discharges(db)] == ["龚䶮", "𠮷野"]


def test_gb18030_file_with_characters_outside_gbk_is_read_exactly(world, db):
    b = imported(world, csv_bytes([row(name="王䶮")], encoding="gb18030"))
    assert counts(b) == (1, 1, 0, 0, 0) and discharges(db)[0].patient.name == "王䶮"


def test_xlsx_import_and_numbers_stored_as_excel_numbers_are_refused(world, db):
    good = row(no="X1")
    numeric_phone = row(no="X2", id_number="")
    data = xlsx_bytes([good, numeric_phone], numeric_columns={5})
    b = imported(world, data, filename="his.xlsx")
    assert b.source == "xlsx" and counts(b) == (2, 0, 0, 0, 2)  # both phones became numbers
    reasons = {r.row_no: r.errors for r in rejected_rows(b.id)}
    assert reasons[2] == [{"field": "phone", "reason": "stored as an Excel number, which loses digits; "
                                                       "format the column as text"}]
    b2 = imported(world, xlsx_bytes([good, numeric_phone]), filename="his2.xlsx")
    assert counts(b2) == (2, 2, 0, 0, 0)
    assert len(discharges(db)[0].tasks) == 2


def test_the_same_file_twice_is_the_same_batch_and_does_no_work(world, db):
    data = csv_bytes([row(), row(no="ZY0002", id_number="")])
    first = imported(world, data)
    again, created = receive_bytes(world.hospital_a, data, source=None, channel="cli", now=utcnow())
    assert not created and again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 1


def test_the_same_rows_re_exported_differently_add_no_records_and_no_tasks(world, db):
    rows = [row(), row(no="ZY0002", id_number=""), row(no="ZY0003", id_number="", ward="骨科")]
    imported(world, csv_bytes(rows))
    n_tasks = db.session.scalar(select(func.count()).select_from(FollowupTask))
    reexport = csv_bytes(list(reversed(rows)), encoding="gb18030", newline="\n") + b"\n\n"
    b = imported(world, reexport)
    assert counts(b) == (3, 0, 0, 3, 0)
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == n_tasks == 6


def test_a_corrected_row_updates_contact_fields_without_touching_completed_follow_ups(world, db):
    imported(world, csv_bytes([row(), row(no="ZY0002", id_number="")]))
    d = discharges(db, inpatient_no="ZY0001")[0]
    ward_task = next(t for t in d.tasks if t.level == "ward")
    ward_task.status, ward_task.completed_at = "done", utcnow()
    db.session.commit()
    version = ward_task.version
    b = imported(world, csv_bytes([row(phone="13700137000, 13600136000"), row(no="ZY0002", id_number="")]))
    assert counts(b) == (2, 0, 1, 1, 0)
    db.session.expire_all()
    d = discharges(db, inpatient_no="ZY0001")[0]
    assert d.patient.phone == "+8613700137000" and d.patient.other_phones == "+8613600136000"
    assert d.import_batch_id == b.id
    tasks = {t.level: t for t in d.tasks}
    assert tasks["ward"].status == "done" and tasks["ward"].version == version
    assert len(d.tasks) == 2 and db.session.scalar(select(func.count()).select_from(Patient)) == 2


def test_a_correction_to_died_closes_open_tasks_but_keeps_finished_ones(world, db):
    imported(world, csv_bytes([row()]))
    d = discharges(db)[0]
    ward_task = next(t for t in d.tasks if t.level == "ward")
    ward_task.status = "done"
    db.session.commit()
    b = imported(world, csv_bytes([row(disposition="5")]))
    assert counts(b) == (1, 0, 1, 0, 0)
    db.session.expire_all()
    assert {t.level: (t.status, t.close_reason) for t in discharges(db)[0].tasks} == \
        {"ward": ("done", None), "hospital": ("closed", "deceased")}


def test_a_person_with_two_stays_is_one_patient_matched_by_id_hash(world, db):
    imported(world, csv_bytes([row(no="A1"), row(no="A2", discharged="2026-11-15", phone="13600136000")]))
    imported(world, csv_bytes([row(no="A3", discharged="2026-11-20")]))
    ds = discharges(db)
    assert len({d.patient_id for d in ds}) == 1 and len(ds) == 3


BAD_ROWS = [  # (row values, field, reason fragment)
    (row(no=""), "inpatient_no", "required"),
    (row(name=""), "name", "required"),
    # A malformed ID number no longer rejects its row: it is set aside and the stay kept
    # (tests/test_import_bad_id_numbers.py).
    (row(discharged="2026-02-30"), "discharge_at", "no such calendar date"),
    (row(discharged="01/02/2026"), "discharge_at", "ambiguous"),
    (row(discharged="2099-01-01"), "discharge_at", "future"),
    (row(admitted="2026-11-20", discharged="2026-11-10"), "discharge_at", "before admission"),
    (row(discharged=""), "discharge_at", "required"),
    (row(sex="X"), "sex", "unknown sex"),
    (row(born="2099-01-01", id_number=""), "birth_date", "future"),
    (row(ward="不存在的科室"), "ward", "unknown ward"),
    (row(dx="很" * 200), "diagnosis_name", "too long"),
    (row()[:5], "_row", "expected 15 columns, found 5"),
    (row() + ["extra"], "_row", "expected 15 columns, found 16"),
]


def test_bad_rows_are_reported_with_row_field_and_reason_while_good_rows_land(world, db):
    rows = []
    for i, (values, _f, _r) in enumerate(BAD_ROWS):
        values = list(values)
        if values and values[0]:
            values[0] = f"BAD{i:02d}"
        rows.append(values)
        rows.append(row(no=f"OK{i:02d}", id_number=""))
    b = imported(world, csv_bytes(rows))
    assert counts(b) == (2 * len(BAD_ROWS), len(BAD_ROWS), 0, 0, len(BAD_ROWS))
    got = {r.row_no: r.errors for r in rejected_rows(b.id)}
    for i, (_v, field, reason) in enumerate(BAD_ROWS):
        errors = got[2 + 2 * i]  # header is line 1; bad rows are the odd data rows
        assert any(e["field"] == field and reason in e["reason"] for e in errors), (i, errors)
    assert sorted(d.inpatient_no for d in discharges(db)) == [f"OK{i:02d}" for i in range(len(BAD_ROWS))]
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 2 * len(BAD_ROWS)


def test_unknown_wards_are_created_when_the_hospital_allows_it(world, db):
    world.hospital_a.create_unknown_wards = True
    db.session.commit()
    b = imported(world, csv_bytes([row(ward="康复科"), row(no="ZY0002", ward="康复科", id_number="")]))
    assert counts(b) == (2, 2, 0, 0, 0)
    assert {d.ward.name for d in discharges(db)} == {"康复科"}


def test_the_same_stay_twice_in_one_file_is_kept_once_or_flagged_when_they_differ(world, db):
    b = imported(world, csv_bytes([row(), row(), row(phone="13700137000")]))
    assert counts(b) == (3, 1, 0, 1, 1)
    [rej] = rejected_rows(b.id)
    assert rej.row_no == 4 and rej.errors[0]["params"] == {"row": 2} and "as row" in rej.errors[0]["reason"]


def test_a_hospital_column_mapping_reads_an_export_with_its_own_names(world, db):
    from followup.imports.batches import set_column_mapping
    set_column_mapping(world.hospital_a, "病人电话", "phone")
    set_column_mapping(world.hospital_a, "住院流水", "inpatient_no")
    db.session.commit()
    headers = ["住院流水" if h == "住院号" else "病人电话" if h == "联系电话" else h for h in CN_HEADERS]
    b = imported(world, csv_bytes([row()], headers=headers))
    assert counts(b) == (1, 1, 0, 0, 0)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    ("住院号,姓名\nZY1,张三\n".encode(), "missing required columns"),
    (b"\x81\x20\xff\xfe" * 10, "cannot decode"),
    (b"PK\x03\x04not a zip", "not a readable .xlsx"),
])
def test_an_unreadable_file_fails_its_batch_with_the_reason_and_writes_nothing(world, db, data, reason):
    b = imported(world, data)
    assert b.status == "failed" and reason in b.error
    assert db.session.scalar(select(func.count()).select_from(Discharge)) == 0


def test_a_file_over_the_row_cap_is_refused_before_any_row_is_written(world, db, app):
    app.config["IMPORT_MAX_ROWS"] = 3
    b = imported(world, csv_bytes([row(no=f"Z{i}", id_number="") for i in range(4)]))
    assert b.status == "failed" and "more than 3 rows" in b.error
    assert db.session.scalar(select(func.count()).select_from(Discharge)) == 0


def test_cli_prints_one_json_object_exits_0_with_rejects_and_a_second_run_inserts_nothing(world, db, runner,
                                                                                          tmp_path):
    path = tmp_path / "his.csv"
    path.write_bytes(csv_bytes([row(), row(no="ZY0002", name="", id_number="")], encoding="gbk"))
    first = runner.invoke(args=["followup", "import", str(path), "--hospital", "HA"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert {k: out[k] for k in ("read", "inserted", "updated", "unchanged", "rejected")} == \
        {"read": 2, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    second = runner.invoke(args=["followup", "import", str(path), "--hospital", "HA"])
    assert second.exit_code == 0 and json.loads(second.output)["inserted"] == 0
    bad = tmp_path / "bad.csv"
    bad.write_bytes("住院号\nZY1\n".encode())
    third = runner.invoke(args=["followup", "import", str(bad), "--hospital", "HA"])
    assert third.exit_code != 0 and "缺少必需的列" in json.loads(third.output)["error"]


def test_a_crash_after_the_first_chunk_resumes_at_the_cursor_without_duplicates(world, db, app, monkeypatch):
    from followup.imports import write
    app.config["IMPORT_CHUNK_ROWS"] = 2
    data = csv_bytes([row(no=f"R{i}", id_number="") for i in range(7)])
    batch, _ = receive_bytes(world.hospital_a, data, source=None, channel="cli", now=utcnow(), submit_job=False)
    db.session.commit()
    real, calls = write.ChunkWriter.write, []

    def dies_on_second_chunk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("worker killed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(write.ChunkWriter, "write", dies_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_batch(batch.id, ImportSettings.from_app(current_app))
    db.session.rollback()
    monkeypatch.setattr(write.ChunkWriter, "write", real)
    assert db.session.scalar(select(func.count()).select_from(Discharge)) == 2
    assert run_batch(batch.id, ImportSettings.from_app(current_app)) == "busy"  # the dead run's lease has not lapsed yet
    db.session.execute(text("UPDATE import_batch SET lease_until = NULL"))
    db.session.commit()
    assert run_batch(batch.id, ImportSettings.from_app(current_app)) == "completed"
    db.session.expire_all()
    b = db.session.get(ImportBatch, batch.id)
    assert counts(b) == (7, 7, 0, 0, 0) and b.rows_done == 7
    assert sorted(d.inpatient_no for d in discharges(db)) == [f"R{i}" for i in range(7)]
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 14
