"""The three ways in besides the CLI: the HIS API (per-hospital token; files, HL7 with ACKs,
FHIR) and the upload pages for hospital admins with progress and the rejected-rows download."""
import csv
import io

from sqlalchemy import func, select

from followup.imports.batches import create_api_token
from followup.core.clock import utcnow
from followup.models import AuditEvent, Discharge
from followup.models.imports import ImportBatch
from tests.import_files import ID_FEMALE, adt_a03, csv_bytes, fhir_bundle, row


def token_for(db, hospital):
    _row, token = create_api_token(hospital, "HIS", utcnow())
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def stays(db):
    return {d.inpatient_no: d for d in db.session.scalars(select(Discharge))}


def test_the_api_refuses_missing_wrong_and_revoked_tokens(world, db, client):
    assert client.post("/api/v1/imports/files", data=b"x").status_code == 401
    assert client.post("/api/v1/imports/files", data=b"x", headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = token_for(db, world.hospital_a)
    from followup.models.imports import HospitalApiToken
    db.session.scalar(select(HospitalApiToken)).revoked_at = utcnow()
    db.session.commit()
    assert client.post("/api/v1/imports/files", data=b"x", headers=auth).status_code == 401


def test_a_file_posted_with_a_token_returns_the_batch_at_once_and_needs_no_csrf(world, db, make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    auth = token_for(db, world.hospital_a)
    resp = client.post("/api/v1/imports/files", data=csv_bytes([row(), row(no="Z2", name="")]), headers=auth)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["created"] is True and body["batch"] > 0
    status = client.get(f"/api/v1/imports/{body['batch']}", headers=auth).get_json()
    assert (status["status"], status["inserted"], status["rejected"]) == ("completed", 1, 1)
    rejected = client.get(f"/api/v1/imports/{body['batch']}/rejected", headers=auth).get_json()
    assert rejected[0]["row"] == 3 and rejected[0]["errors"] == [{"field": "name", "reason": "必填"}]
    again = client.post("/api/v1/imports/files", data=csv_bytes([row(), row(no="Z2", name="")]), headers=auth)
    assert again.get_json()["batch"] == body["batch"] and again.get_json()["created"] is False
    other = token_for(db, world.hospital_b)
    assert client.get(f"/api/v1/imports/{body['batch']}", headers=other).status_code == 404


def test_hl7_adt_a03_messages_are_committed_each_and_become_records_with_tasks(world, db, client):
    auth = token_for(db, world.hospital_a)
    messages = "\n".join([
        adt_a03("M1", no="H1"),
        adt_a03("M2", no="H2", family="赵", given="六", id_number="", phones="13700137000", disposition="5"),
        adt_a03("M3", no="H3", id_number="", phones="4008208820"),  # no valid phone: kept, needs data
        adt_a03("M4", no="H4", kind="ADT^A01"),                # not a discharge: a rejected row
    ])
    resp = client.post("/api/v1/imports/hl7", data=messages.encode(), headers=auth)
    assert resp.status_code == 202
    body = resp.get_json()
    codes = [ack.split("MSA|")[1][:2] for ack in body["acks"]]
    assert codes == ["CA", "CA", "CA", "CA"]  # stored: the job parses and validates them
    assert "MSA|CA|M1" in body["acks"][0] and "MSA|CA|M4" in body["acks"][3]
    assert (body["read"], body["inserted"], body["rejected"]) == (4, 3, 1)
    rejected = client.get(f"/api/v1/imports/{body['batch']}/rejected", headers=auth).get_json()
    assert rejected == [{"row": 4, "errors": [{"field": "_message", "reason": "消息类型 ADT^A01 不是 ADT^A03（出院）"}],
                         "original": rejected[0]["original"], "kept": False}]
    got = stays(db)
    h1 = got["H1"]
    assert (h1.patient.name, h1.patient.sex, h1.patient.phone, h1.patient.other_phones) == \
        ("王芳", "2", "+8613900139000", "+861012345678")
    assert h1.patient.id_number_masked == "110105********002X" and h1.ward_id == world.cardiology.id
    assert (h1.diagnosis_code, h1.diagnosis_name, h1.attending_doctor) == ("I20.000", "心绞痛", "李医生")
    assert h1.discharge_at.isoformat() == "2026-11-10T07:30:00+00:00"
    assert len(h1.tasks) == 2 and got["H2"].disposition == "5" and got["H2"].tasks == []
    assert {t.needs_data for t in got["H3"].tasks} == {"phone"} and got["H3"].patient.phone is None


def test_a_fhir_bundle_becomes_records_with_disposition_mapped_and_tasks(world, db, client):
    auth = token_for(db, world.hospital_a)
    bundle = fhir_bundle([{"no": "F1"}, {"no": "F2", "disposition": "exp", "id_number": "", "phone": "13600136000"},
                          {"no": "F3", "phone": "abc", "id_number": ""}])
    resp = client.post("/api/v1/imports/fhir", data=bundle, headers=auth, content_type="application/fhir+json")
    assert resp.status_code == 202, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["read"], body["inserted"], body["rejected"]) == (3, 3, 0)
    got = stays(db)
    f1 = got["F1"]
    assert (f1.patient.name, f1.ward_id, f1.disposition, str(f1.discharge_date)) == \
        ("赵敏", world.orthopaedics.id, "1", "2026-11-12")
    assert len(f1.tasks) == 2 and got["F2"].disposition == "5" and got["F2"].tasks == []
    assert {t.needs_data for t in got["F3"].tasks} == {"phone"}
    bad = client.post("/api/v1/imports/fhir", data=b'{"resourceType": "Bundle", "type": "nonsense"}', headers=auth)
    assert bad.status_code == 202  # stored; the job reads it and fails the batch with the reason
    assert (bad.get_json()["status"], bad.get_json()["error"]) == ("failed", "Bundle 中没有 Encounter（就诊）")


def test_hospital_admins_upload_and_see_progress_counts_and_rejected_rows(world, db, as_user):
    admin = as_user(world.hospital_admin)
    data = csv_bytes([row(), row(no="Z2", name="", phone="13800138000x", id_number=ID_FEMALE, sex="女",
                                 born="1949-12-31", dx="=HYPERLINK(\"http://x\",\"点我\")")], encoding="gbk")
    resp = admin.post("/imports/", data={"file": (io.BytesIO(data), "出院.csv")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302
    batch = db.session.scalar(select(ImportBatch))
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "必填" in page and "rejected.csv" in page
    progress = admin.get(f"/imports/{batch.id}/progress", headers={"HX-Request": "true"})
    body = progress.get_data(as_text=True)  # finished: the result, not a bar at 100%
    assert progress.headers.get("HX-Refresh") == "true" and "导入完成：读取 2 行，导入 1 行，拒绝 1 行。" in body
    assert "<progress" not in body
    download = admin.get(f"/imports/{batch.id}/rejected.csv")
    raw = download.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, line = table[0], table[1]
    assert header[:2] == ["住院号", "姓名"] and "脱敏" in header[-1]  # says ID numbers are masked
    assert line[header.index("身份证号")] == "110105********002X"
    assert line[header.index("出院诊断")].startswith("'=HYPERLINK")  # formula neutralised
    assert "姓名: 必填" in line[-1] and " 3 " in line[-1]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "import.rejected_download")) == 1


def test_only_the_hospitals_own_admin_sees_its_imports(world, db, as_user):
    from followup.imports.batches import receive_bytes
    batch, _ = receive_bytes(world.hospital_a, csv_bytes([row()]), source=None, channel="cli", now=utcnow(),
                             submit_job=False)
    db.session.commit()
    from followup.models import Role
    from followup.security.users import create_user
    admin_b = create_user("admin_b", world.PASSWORD, Role.HOSPITAL_ADMIN, hospital_code="HB")
    db.session.commit()
    for user in (admin_b, world.nurse, world.sys_admin):
        client = as_user(user)
        assert client.get(f"/imports/{batch.id}").status_code == 404
        assert client.get(f"/imports/{batch.id}/rejected.csv").status_code == 404
    assert as_user(world.hospital_admin).get(f"/imports/{batch.id}").status_code == 200


def test_cli_creates_a_token_that_the_api_accepts(world, db, runner, client):
    out = runner.invoke(args=["followup", "import-token", "--hospital", "HA"])
    assert out.exit_code == 0
    token = out.output.strip()
    resp = client.post("/api/v1/imports/files", data=csv_bytes([row()]), headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 202


def test_cli_revokes_a_token_by_its_prefix_and_the_api_refuses_it_at_once(world, db, runner, client):
    tokens = [runner.invoke(args=["followup", "import-token", "--hospital", "HA"]).output.strip() for _ in range(2)]
    ambiguous = runner.invoke(args=["followup", "import-token-revoke", "--hospital", "HA", "fu_"])
    assert ambiguous.exit_code == 1 and "2 working tokens" in ambiguous.output
    out = runner.invoke(args=["followup", "import-token-revoke", "--hospital", "HA", tokens[0][:12]])
    assert out.exit_code == 0, out.output
    post = lambda token: client.post("/api/v1/imports/files", data=csv_bytes([row()]),  # noqa: E731
                                     headers={"Authorization": f"Bearer {token}"})
    assert post(tokens[0]).status_code == 401
    assert post(tokens[1]).status_code == 202
    assert runner.invoke(args=["followup", "import-token-revoke", "--hospital", "HA", tokens[0][:12]]).exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "import.token_revoked")) == 1


def test_hl7_in_gb18030_with_mllp_framing_is_read(world, db, client):
    auth = token_for(db, world.hospital_a)
    framed = b"".join(b"\x0b" + adt_a03(f"G{i}", no=f"GB{i}", family="龚", given="䶮").encode("gb18030") + b"\x1c\r"
                      for i in range(2))
    body = client.post("/api/v1/imports/hl7", data=framed, headers=auth).get_json()
    assert [a.split("MSA|")[1][:2] for a in body["acks"]] == ["CA", "CA"] and body["status"] == "completed"
    assert {d.patient.name for d in stays(db).values()} == {"龚䶮"}


def test_only_the_token_api_is_csrf_exempt_the_upload_page_is_not(world, db, make_app, login):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": world.hospital_admin.username, "password": world.PASSWORD,
                                "csrf_token": token})
    resp = client.post("/imports/", data={"file": (io.BytesIO(csv_bytes([row()])), "a.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400  # no CSRF token
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
