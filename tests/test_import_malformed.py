"""The bad-input catalogue (RELIABILITY.md B): malformed CSV, encodings, sizes. The rule: the
batch never crashes; each row is imported after normalisation or rejected with row, field and
reason; a file that cannot be read at all fails as a whole and writes nothing."""
import io
import zipfile

import pytest
from sqlalchemy import func, select

from followup.imports import tables
from followup.imports.run import rejected_rows
from followup.models import Discharge
from tests.import_files import CN_HEADERS, counts, csv_bytes, imported, row

HEADER = ",".join(CN_HEADERS)
GOOD = ",".join(row(no="G1", id_number=""))


def line(**kw):
    return ",".join(row(id_number="", **kw))


@pytest.mark.parametrize("body, expected", [
    # (CSV text after the header, (read, inserted, updated, unchanged, rejected))
    (GOOD + "\n" + line(no="Q1", name='"张""三"') + "\n", (2, 2, 0, 0, 0)),           # escaped quote in a field
    (GOOD + "\n" + line(no="Q2", rehab='"unbalanced') + "\n" + line(no="Q3") + "\n", (2, 1, 0, 0, 1)),
    (f'{GOOD}\n' + line(no="N1", rehab='"第一行\n第二行"') + "\n", (2, 2, 0, 0, 0)),  # newline inside quotes
    (f"{GOOD},extra\n", (1, 0, 0, 0, 1)),                                             # extra column
    (f"{GOOD[:GOOD.rindex(',')]}\n", (1, 0, 0, 0, 1)),                                # missing column
    (f"{GOOD}\n\n\n{line(no='E2')}\n", (2, 2, 0, 0, 0)),                              # empty rows skipped
    ("", (0, 0, 0, 0, 0)),                                                              # header only
    (f"{GOOD}\n" + line(no="Z1", name="张\x00三") + "\n", (2, 2, 0, 0, 0)),            # NUL byte dropped
    (f"{GOOD}\n" + line(no="B1", rehab="康" * 400_000) + "\n", (2, 1, 0, 0, 1)),       # a 1 MB field
    (f"{GOOD}\n" + ",".join('="' + v + '"' if i == 0 else v for i, v in enumerate(row(no="0123", id_number="")))
     + "\n", (2, 2, 0, 0, 0)),                                                          # Excel ="0123"
    (f"{GOOD}\n---- end of report ----\n", (2, 1, 0, 0, 1)),                            # trailing junk
])
def test_malformed_csv_rows_are_rejected_one_by_one_and_the_rest_land(world, db, body, expected):
    b = imported(world, (HEADER + "\n" + body).encode())
    assert b.status == "completed" and counts(b) == expected, [r.errors for r in rejected_rows(b.id)]


def test_excel_text_quoting_keeps_leading_zeros(world, db):
    imported(world, (HEADER + "\n" + ",".join('="0123"' if i == 0 else v for i, v in
                                               enumerate(row(id_number="")))).encode())
    assert db.session.scalar(select(Discharge.inpatient_no)) == "0123"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_each_accepted_encoding_round_trips_names_exactly(world, db, encoding):
    name = "李堃" if encoding in ("utf-8", "utf-8-sig", "gb18030", "utf-16") else "李明"
    b = imported(world, csv_bytes([row(name=name, id_number="")], encoding=encoding))
    assert counts(b) == (1, 1, 0, 0, 0)
    assert db.session.scalar(select(Discharge)).patient.name == name


@pytest.mark.parametrize("data", [
    "张三".encode("big5", errors="ignore") + b"\xa4\x40\xff\xfe\xfd" * 20,    # Big5 / junk: refused, not guessed
    csv_bytes([row()]) + "李四".encode("utf-16-le") + b"\xff\xfe\x00\xd8",      # mixed encodings in one file
])
def test_files_in_no_accepted_encoding_are_refused_whole(world, db, data):
    b = imported(world, data)
    assert b.status == "failed" and "cannot decode" in b.error
    assert db.session.scalar(select(func.count()).select_from(Discharge)) == 0


def test_a_zip_bomb_xlsx_is_refused_before_it_is_opened(world, db, monkeypatch):
    monkeypatch.setattr(tables, "XLSX_MAX_UNCOMPRESSED", 1_000_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 2_000_000)
    b = imported(world, out.getvalue(), filename="bomb.xlsx")
    assert b.status == "failed" and "zip bomb" in b.error


def test_an_upload_over_the_size_limit_is_refused_with_413(world, db, make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024 * 1024)
    client = app.test_client()
    from followup.imports.batches import create_api_token
    from followup.core.clock import utcnow
    _row, token = create_api_token(world.hospital_a, "HIS", utcnow())
    db.session.commit()
    resp = client.post("/api/v1/imports/files", data=b"x" * (2 * 1024 * 1024),
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 413


def test_a_late_import_still_gets_its_tasks_which_are_overdue_at_once(world, db):
    from followup.core.clock import utcnow
    imported(world, csv_bytes([row(discharged="2026-10-01 09:00", admitted="2026-09-20", id_number="")]))
    d = db.session.scalar(select(Discharge))
    assert len(d.tasks) == 2 and all(t.overdue(utcnow()) for t in d.tasks)


def test_an_unclosed_quote_is_named_as_such_and_the_swallowed_row_is_not_imported_as_text(world, db):
    body = GOOD + "\n" + line(no="Q2", rehab='"unbalanced') + "\n" + line(no="Q3") + "\n"
    b = imported(world, (HEADER + "\n" + body).encode())
    [rej] = rejected_rows(b.id)
    assert rej.row_no == 3 and rej.errors[0] == {"field": "_row", "reason": "a quote is not closed: this row "
                                                                          "ran over the lines after it"}
    assert [d.inpatient_no for d in db.session.scalars(select(Discharge))] == ["G1"]


def test_control_characters_such_as_nul_are_dropped_from_cells(world, db):
    imported(world, (HEADER + "\n" + line(name="张\x00三\x07") + "\n").encode())
    assert db.session.scalar(select(Discharge)).patient.name == "张三"
