"""The bulk-import fast paths hold to the slow ones they stand in for: FastRowLoader to the
marshmallow row schema, the cached phone verdicts to phonenumbers, the CSV cell extraction to
the general one, and a batch prepared by worker processes to one prepared in-process."""
import os
import random
from datetime import datetime, timezone

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from followup.imports.batches import receive_bytes
from followup.core.clock import utcnow
from followup.imports import values as v
from followup.imports.headers import ColumnMap
from followup.imports.rows import DischargeRowSchema, FastRowLoader, load_row
from followup.models import Discharge, FollowupTask, Patient, Ward
from followup.models.imports import ImportBatch
from tests.import_files import CN_HEADERS, ID_MALE, csv_bytes, row

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc)

# Cell values per field, clean and not: every kind of problem the schema knows, and the forms
# the fast path must hand back to it (control characters, blanks, Excel-typed cells, overlong text).
CELLS = {
    "inpatient_no": ["ZY1", "ZY0001", "", "  ", "Z" * 33, "ZY\x00"],
    "name": ["张三", "欧阳娜娜", "", "名" * 65, "李\x07四"],
    "sex": ["男", "女", "1", "2", "0", "9", "未知", "", " ", "M", "x"],
    "birth_date": ["1960-05-01", "1960/5/1", "19600501", "", "2030-01-01", "05/01/1960", "1960-02-30",
                   datetime(1960, 5, 1)],
    "id_type": ["", "身份证", "居民身份证", "护照", "passport", "what"],
    # Malformed ones too (bad check digit, wrong length, a birth date or sex contradicting the
    # row's, a future or impossible birth date inside): kept with the number set aside by both.
    "id_number": ["", "  ", ID_MALE, ID_MALE.lower(), "110105491231002", "110105194912310021", "E12345678",
                  "ab", "11010519491231002X", "371502196005010013", "3715021960050100", "37150219600501001",
                  "11010519990230002X", "11010520991231002X", " 371502196005010016 ", "37150219600501001６"],
    "phone": ["13800138000", "13800138000, 0635-8278001", "0635-8278001", "010-12345678",
              "12345678901", "400-820-8820", "", "13800138000x", "1380013800\x01", "00861380013800"],
    "admission_date": ["2026-11-01", "", "2026-11-15", "2026-11-21", "2026年11月1日", "bad"],
    "discharge_at": ["2026-11-10 10:30", "2026-11-10", "2026-11-10T02:30:00Z", "2026-12-30 10:00", "",
                     "01/02/2026", "2026-11-10 25:00", datetime(2026, 11, 10, 9, 0)],
    "ward": ["心内科", "", "科" * 65],
    "diagnosis_code": ["I10.x00", "", "X" * 17],
    "diagnosis_name": ["高血压病", ""],
    "disposition": ["1", "5", "死亡", "医嘱离院", "", "7"],
    "attending_doctor": ["李医生", ""],
    "medicines": ["阿司匹林 100mg qd\n阿托伐他汀 20mg qn", ""],
    "rehab_instructions": ["低盐饮食", "", "a\tb"],
}


@st.composite
def records(draw):
    record = {}
    for field, cells in CELLS.items():
        if draw(st.integers(0, 19)) == 0:
            continue  # the column is missing from the file
        record[field] = draw(st.sampled_from(cells))
    if draw(st.integers(0, 49)) == 0:
        record["unexpected"] = "x"
    return record


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_the_fast_row_loader_returns_what_the_schema_returns_or_defers_to_it(record):
    fast = FastRowLoader(NOW).load(dict(record))
    clean, problems = load_row(DischargeRowSchema(now=NOW), dict(record))
    if fast is not None:
        assert problems == [] and fast == clean
    # and the fast path is not a path nobody takes: see the next test


def test_the_fast_row_loader_takes_the_plain_rows_of_a_his_export():
    loader = FastRowLoader(NOW)
    columns = ColumnMap(CN_HEADERS)
    rows = [row(no=f"ZY{i}", phone=p, id_number=i_d, disposition=d)
            for i, (p, i_d, d) in enumerate([("13800138000", ID_MALE, "1"), ("0635-8278001", "", "5"),
                                              ("13800138000, 010-12345678", "", "医嘱离院")])]
    for values in rows:
        record, problems = columns.extract_text(values)
        assert not problems and loader.load(record) == load_row(DischargeRowSchema(now=NOW), record)[0]


def test_the_fast_row_loader_takes_rows_with_a_malformed_id_number_too():
    """They are kept (issue 17), so they are not a reason to leave the fast path."""
    loader = FastRowLoader(NOW)
    columns = ColumnMap(CN_HEADERS)
    for values in (row(id_number="371502196005010013"), row(id_number=ID_MALE, sex="女"),
                   row(id_number="3715021960050100")):
        record, _problems = columns.extract_text(values)
        fast = loader.load(record)
        assert fast is not None and fast == load_row(DischargeRowSchema(now=NOW), record)[0]
        assert (fast["id_number"], fast["id_number_raw"]) == ("", values[4]) and fast["id_issue"]


def test_csv_cell_extraction_matches_the_general_extraction():
    columns = ColumnMap(CN_HEADERS + ["电话"])
    rnd = random.Random(7)
    cells = ["", " ", "x", " 138 ", '="0123"', '=" 1 "', "a,b", "\n", "1.0"]
    for _ in range(2000):
        values = [rnd.choice(cells) for _ in range(len(CN_HEADERS) + rnd.choice((1, 1, 1, 0, 2)))]
        assert columns.extract_text(values) == columns.extract(values)


def _phonenumbers_verdict(text):
    try:
        return v._parse_phone(text)
    except ValueError as exc:
        return f"error: {exc}"


def _fast_verdict(text):
    try:
        return v.normalise_phone(text)
    except ValueError as exc:
        return f"error: {exc}"


def test_cached_phone_verdicts_agree_with_phonenumbers_number_by_number():
    """The cache assumes phonenumbers' CN patterns leave the last four digits free: checked
    here on fresh numbers under every mobile prefix block and a sample of area codes."""
    rnd = random.Random(11)
    v._valid_prefixes.clear()
    numbers = [f"1{rnd.randrange(10**10):010d}" for _ in range(3000)]
    areas = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29"] + [str(a) for a in range(310, 1000, 7)]
    numbers += [f"0{rnd.choice(areas)}{'-' if rnd.random() < .5 else ''}{rnd.randrange(10**7):0{n}d}"
                for n in (7, 8) for _ in range(3000)]
    numbers += [n[:-4] + f"{rnd.randrange(10**4):04d}" for n in numbers[:3000]]  # same prefix, other tails
    for n in numbers:
        assert _fast_verdict(n) == _phonenumbers_verdict(n), n


def test_a_big_file_prepared_by_worker_processes_lands_exactly_as_one_prepared_in_process(
        world, db, app, make_app):
    """Same rows, one batch per mode (different hospitals): identical counts, rejections and tasks.
    The rows include a new ward (created by the writer, not the workers), repeats and errors."""
    world.hospital_b.create_unknown_wards = True
    db.session.commit()
    rows = []
    for i in range(300):
        rows.append(row(no=f"P{i:04d}", id_number="" if i % 3 else ID_MALE, phone=f"138{i:08d}",
                        ward="新科室" if i == 150 else "心内科", disposition="5" if i % 10 == 0 else "1"))
    # In the chunk that names the new ward (staged by the writer): the same stay again, another name.
    rows.insert(152, row(no="P0151", name="另一个人", id_number="", phone="13800000151"))
    rows += [rows[5], row(no="P0006", name="别人"), row(no="BAD", discharged="2030-01-01")]
    data = csv_bytes(rows)
    results = {}
    for hospital, processes in ((world.hospital_a, 0), (world.hospital_b, 2)):
        app.config.update(IMPORT_PROCESSES=processes, IMPORT_POOL_MIN_ROWS=0, IMPORT_CHUNK_ROWS=40)
        if hospital is world.hospital_a:
            hospital.create_unknown_wards = True
            db.session.commit()
        batch, _ = receive_bytes(hospital, data, source=None, channel="cli", now=utcnow(), submit_job=False)
        db.session.commit()
        from followup.imports.run import ImportSettings, run_batch
        assert run_batch(batch.id, ImportSettings.from_app(current_app), now=NOW) == "completed"
        db.session.expire_all()
        b = db.session.get(ImportBatch, batch.id)
        results[processes] = dict(
            counts=(b.read, b.inserted, b.updated, b.unchanged, b.rejected),
            discharges=db.session.scalar(select(func.count()).select_from(Discharge)
                                         .where(Discharge.hospital_id == hospital.id)),
            patients=db.session.scalar(select(func.count()).select_from(Patient)
                                       .where(Patient.hospital_id == hospital.id)),
            tasks=db.session.scalar(select(func.count()).select_from(FollowupTask)
                                    .where(FollowupTask.hospital_id == hospital.id)),
            new_ward=db.session.scalar(select(func.count()).select_from(Ward)
                                       .where(Ward.hospital_id == hospital.id, Ward.name == "新科室")))
    assert results[0] == results[2]
    # P0006 again with another name: a correction; P0151 again in its own chunk: an error
    assert results[2]["counts"] == (304, 300, 1, 1, 2)
    assert results[2]["tasks"] == 2 * 270 and results[2]["new_ward"] == 1
    # ID_MALE on every third row: one patient for those 100 stays, one per row for the rest
    assert results[2]["patients"] == 200 + 1


def test_array_literals_for_the_writer_survive_every_character_a_cell_may_hold(db):
    from sqlalchemy import text

    from followup.imports.write import _array
    values = ["ZY1", "b,c", 'd"e', "f\\g", "{h}", " i ", "NULL", "", "中文", "x\ty\nz", "'"]
    literal = _array(values)
    if db.session.get_bind().dialect.name == "postgresql":
        assert db.session.scalar(text("SELECT CAST(:a AS varchar[])"), {"a": literal}) == values
    else:  # the literal itself (the writer only sends arrays to PostgreSQL)
        assert literal == '{"ZY1","b,c","d\\"e","f\\\\g","{h}"," i ","NULL","","中文","x\ty\nz","\'"}'


def test_worker_processes_end_even_when_the_parent_only_flags_sigterm(world, db, app):
    """A parent whose SIGTERM only sets a flag (rq's worker, `flask followup cron`) passed that
    on to forked workers, so the pool's terminate() could not end a busy one and an import hung
    at its end (seen once in CI). Each worker now restores the default at start."""
    import signal
    import threading

    from followup.imports.run import ImportSettings, run_batch
    app.config.update(IMPORT_PROCESSES=2, IMPORT_POOL_MIN_ROWS=0, IMPORT_CHUNK_ROWS=10)
    batch, _ = receive_bytes(world.hospital_a, csv_bytes([row(no=f"T{i}", id_number="") for i in range(30)]),
                             source=None, channel="cli", now=utcnow(), submit_job=False)
    db.session.commit()
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        outcome = []
        # run_batch forks only from a main thread: run it here, bounded by a watchdog thread
        watchdog = threading.Timer(60, lambda: os.kill(os.getpid(), signal.SIGINT))
        watchdog.start()
        try:
            outcome.append(run_batch(batch.id, ImportSettings.from_app(current_app), now=NOW))
        finally:
            watchdog.cancel()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert outcome == ["completed"]


def test_a_worker_process_restores_the_default_sigterm_whatever_its_parent_set():
    import signal

    from followup.imports.run import _worker_init
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        _worker_init(None, [])
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
