"""Builders for import test inputs: HIS CSV/xlsx exports, HL7 ADT^A03 messages, FHIR bundles."""
import io
import json

from flask import current_app

CN_HEADERS = ["住院号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "入院日期", "出院日期", "出院科室",
              "出院诊断编码", "出院诊断", "离院方式", "主治医师", "出院带药", "康复指导"]
EN_HEADERS = ["Inpatient No", "Name", "Sex", "Date of birth", "ID number", "Phone", "Admission date",
              "Discharge date", "Ward", "Diagnosis code", "Diagnosis", "Disposition", "Attending doctor",
              "Medicines", "Instructions"]

# A valid resident ID (male, born 1960-05-01) and a female one, with correct check digits.
ID_MALE = "371502196005010016"
ID_FEMALE = "11010519491231002X"


def row(no="ZY0001", name="张三", sex="男", born="1960-05-01", id_number=ID_MALE, phone="13800138000",
        admitted="2026-11-01", discharged="2026-11-10 10:30", ward="心内科", code="I10.x00", dx="高血压病",
        disposition="1", doctor="李医生", medicines="阿司匹林 100mg qd", rehab="低盐饮食"):
    return [no, name, sex, born, id_number, phone, admitted, discharged, ward, code, dx, disposition, doctor,
            medicines, rehab]


def csv_bytes(rows, headers=CN_HEADERS, encoding="utf-8", delimiter=",", newline="\r\n", bom=False) -> bytes:
    import csv
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    w.writerow(headers)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows, headers=CN_HEADERS, numeric_columns=()) -> bytes:
    """Written with openpyxl; columns in numeric_columns are stored as Excel numbers."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([int(v) if i in numeric_columns and v.isdigit() else v for i, v in enumerate(r)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def adt_a03(control="MSG0001", no="ZY9001", family="王", given="芳", id_number=ID_FEMALE, born="19491231",
            sex="F", phones="13900139000~010-12345678", ward="心内科", discharged="20261110153000",
            admitted="20261101080000", disposition="1", kind="ADT^A03") -> str:
    return "\r".join([
        f"MSH|^~\\&|HIS|HA|FOLLOWUP|CITY|20261110153500||{kind}|{control}|P|2.5",
        "EVN|A03|20261110153000",
        f"PID|1||{no}^^^HA^MR~{id_number}^^^CHN^NNCHN||{family}^{given}||{born}|{sex}|||||{phones}",
        f"PV1|1|I|^^^{ward}||||D001^李^医生||||||||||||{no}|||||||||||||||||{disposition}||||||||{admitted}|{discharged}",
        "DG1|1||I20.000^心绞痛^ICD10",
    ]) + "\r"


def fhir_bundle(encounters) -> bytes:
    """encounters: list of dicts with no, name, phone, ward, end, disposition (FHIR code), id_number."""
    entries = []
    for i, e in enumerate(encounters, start=1):
        entries.append({"fullUrl": f"urn:uuid:p{i}", "resource": {
            "resourceType": "Patient", "id": f"p{i}",
            "name": [{"text": e.get("name", "赵敏")}], "gender": e.get("gender", "female"),
            "birthDate": e.get("born", "1949-12-31"),
            "identifier": [{"type": {"coding": [{"code": "NNCHN"}]}, "value": e.get("id_number", ID_FEMALE)}]
            if e.get("id_number", ID_FEMALE) else [],
            "telecom": [{"system": "phone", "value": e.get("phone", "13700137000")}]}})
        entries.append({"fullUrl": f"urn:uuid:e{i}", "resource": {
            "resourceType": "Encounter", "id": f"e{i}", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "identifier": [{"value": e.get("no", f"FH{i:04d}")}],
            "subject": {"reference": f"urn:uuid:p{i}"},
            "period": {"start": "2026-11-01T08:00:00+08:00", "end": e.get("end", "2026-11-12T09:00:00+08:00")},
            "hospitalization": {"dischargeDisposition": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                "code": e.get("disposition", "home")}]}},
            "location": [{"location": {"display": e.get("ward", "骨科")}}]}})
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries},
                      ensure_ascii=False).encode()


def imported(world, data, hospital=None, **kw):
    """Receive bytes as a batch for hospital A (or `hospital`) and run it to its end, in-process."""
    from followup.imports.batches import receive_bytes
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.imports.run import ImportSettings, run_batch
    from followup.models.imports import ImportBatch
    batch, _ = receive_bytes(hospital or world.hospital_a, data, source=kw.pop("source", None),
                             channel="cli", filename=kw.pop("filename", "his.csv"), now=utcnow(),
                             submit_job=False)
    db.session.commit()
    assert run_batch(batch.id, ImportSettings.from_app(current_app)) in ("completed", "failed", "finished")
    db.session.expire_all()
    return db.session.get(ImportBatch, batch.id)


def stay(db, no):
    """The stay with this 住院号, as the database has it."""
    from sqlalchemy import select
    from followup.models import Discharge
    return db.session.scalar(select(Discharge).where(Discharge.inpatient_no == no))


def counts(b):
    return (b.read, b.inserted, b.updated, b.unchanged, b.rejected)
