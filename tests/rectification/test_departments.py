"""Departments as they are: functional departments beside clinical wards, with generated codes;
tasks, imports and nurses only ever concern clinical wards."""
import pytest
from sqlalchemy import select

from followup.core.clock import utcnow
from followup.models import Discharge, Role, Ward
from followup.models.org import WardKind
from followup.rectification import departments
from followup.security.users import UserError, create_user
from tests.import_files import counts, csv_bytes, imported, row


def test_a_new_ward_is_clinical_unless_said_otherwise(world, db):
    assert world.cardiology.kind == "clinical" and world.cardiology.is_clinical


def test_functional_departments_get_generated_codes_and_unique_names(world, db):
    h = world.hospital_a.id
    cashier = departments.add_department(h, " 收费处 ", "functional", user=world.hospital_admin, now=utcnow())
    medical = departments.add_department(h, "医务科", WardKind.FUNCTIONAL, user=world.hospital_admin, now=utcnow())
    rehab = departments.add_department(h, "康复科", "clinical", user=world.hospital_admin, now=utcnow())
    assert (cashier.code, cashier.name, cashier.kind) == ("ZN001", "收费处", "functional")
    assert (medical.code, rehab.code, rehab.kind) == ("ZN002", "LC001", "clinical")
    with pytest.raises(departments.DepartmentError):
        departments.add_department(h, "收费处", "functional", user=world.hospital_admin, now=utcnow())
    with pytest.raises(departments.DepartmentError):
        departments.add_department(h, "  ", "functional", user=world.hospital_admin, now=utcnow())
    with pytest.raises(ValueError):
        departments.add_department(h, "后勤", "other", user=world.hospital_admin, now=utcnow())
    # Another hospital numbers its own.
    assert departments.add_department(world.hospital_b.id, "收费处", "functional", user=None, now=utcnow()).code == "ZN001"
    names = [w.name for w in departments.departments(h, WardKind.FUNCTIONAL)]
    assert names == sorted(["收费处", "医务科"])
    assert set(db.session.scalars(select(Ward.name).where(Ward.hospital_id == h, departments.clinical()))) == \
        {"心内科", "骨科", "康复科"}


def test_postgresql_refuses_an_unknown_kind(world, db):
    if db.engine.dialect.name != "postgresql":
        assert db.engine.dialect.name == "sqlite"  # SQLite has no CHECK here (see migration 0015)
        return
    from sqlalchemy.exc import IntegrityError
    db.session.add(Ward(hospital_id=world.hospital_a.id, code="X", name="X", kind="other"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_an_import_never_puts_a_discharge_on_a_functional_department(world, db):
    departments.add_department(world.hospital_a.id, "收费处", "functional", user=None, now=utcnow())
    db.session.commit()
    b = imported(world, csv_bytes([row(ward="收费处")]))
    assert counts(b)[1] == 0 and counts(b)[4] == 1  # refused: no such clinical ward
    world.hospital_a.create_unknown_wards = True
    db.session.commit()
    b = imported(world, csv_bytes([row(no="ZY0100", ward="收费处"), row(no="ZY0101", ward="康复科")]))
    assert counts(b)[1] == 1 and counts(b)[4] == 1  # no clinical 收费处 is made up; 康复科 is
    [d] = db.session.scalars(select(Discharge)).all()
    assert d.ward.kind == "clinical" and d.ward.name == "康复科"


def test_a_nurse_is_never_scoped_to_a_functional_department_but_a_responder_is(world, db):
    cashier = departments.add_department(world.hospital_a.id, "收费处", "functional", user=None, now=utcnow())
    with pytest.raises(UserError):
        create_user("n2", world.PASSWORD, Role.NURSE, hospital_code="HA", ward_codes=[cashier.code])
    head = create_user("sfc_head", world.PASSWORD, Role.DEPT_RESPONDER, hospital_code="HA", ward_codes=[cashier.code])
    assert head.ward_ids == [cashier.id]


def test_the_monthly_summary_rates_list_clinical_wards_only_and_opinions_name_functional_ones(world, db):
    from datetime import datetime
    from followup.core.clock import LOCAL_TZ
    from followup.models.opinion import Opinion
    from followup.reports import monthly
    cashier = departments.add_department(world.hospital_a.id, "收费处", "functional", user=None, now=utcnow())
    d = world.discharge(world.cardiology)
    at = datetime(2026, 11, 21, 10, tzinfo=LOCAL_TZ)
    db.session.add(Opinion(hospital_id=d.hospital_id, discharge_id=d.id, text="多收费", sentiment="complaint",
                           category="cost", ward_id=cashier.id, original_sentiment="complaint", original_category="cost",
                           original_ward_id=cashier.id, recorded_by_id=world.centre.id, recorded_at=at))
    db.session.commit()
    s = monthly.build(world.hospital_a.id, "2026-11", now=at)
    assert [r["ward"] for r in s["wards"]] == ["心内科"]
    assert [r["ward"] for r in s["opinions"]["rows"]] == ["收费处"]


def test_departments_import_from_a_gb18030_csv_and_an_xlsx_with_generated_codes(world, db, as_user):
    import io
    import openpyxl
    admin = as_user(world.hospital_admin)
    csv = "科室名称,类型\r\n收费处,职能\r\n康复科,临床\r\n心内科,临床\r\n病案室,未知\r\n".encode("gb18030")
    resp = admin.post("/departments/import", data={"file": (io.BytesIO(csv), "depts.csv"), "kind": "functional"},
                      content_type="multipart/form-data")
    assert resp.status_code == 302
    got = {w.name: (w.kind, w.code) for w in departments.departments(world.hospital_a.id)}
    assert got["收费处"] == ("functional", "ZN001") and got["康复科"] == ("clinical", "LC001")
    assert got["心内科"] == ("clinical", "XNK") and "病案室" not in got  # existing kept; unknown kind refused
    wb = openpyxl.Workbook()
    wb.active.append(["部门"])
    wb.active.append(["医保办"])
    out = io.BytesIO()
    wb.save(out)
    admin.post("/departments/import", data={"file": (io.BytesIO(out.getvalue()), "d.xlsx"), "kind": "functional"},
               content_type="multipart/form-data")
    assert {w.name: w.kind for w in departments.departments(world.hospital_a.id)}["医保办"] == "functional"
    assert admin.post("/departments/", data={"name": "后勤保障科", "kind": "functional"}).status_code == 302
    assert "后勤保障科" in admin.get("/departments/").get_data(as_text=True)
    assert as_user(world.qa).get("/departments/").status_code == 404


def test_a_hospitals_own_category_rule_and_days_win_over_the_defaults(world, db, as_user):
    h = world.hospital_a.id
    cashier = departments.add_department(h, "收费处", "functional", user=None, now=utcnow())
    finance = departments.add_department(h, "财务科", "functional", user=None, now=utcnow())
    db.session.commit()
    assert departments.suggest_department(h, "cost") == cashier.id  # default by name
    assert departments.suggest_department(h, "service_attitude", world.cardiology.id) == world.cardiology.id
    assert departments.due_days(h, "cost") == 15 and departments.due_days(h, "cost", urgent=True) == 3
    admin = as_user(world.hospital_admin)
    admin.post("/departments/routes", data={"category": "cost", "ward_id": finance.id, "due_days": "7"})
    assert (departments.suggest_department(h, "cost"), departments.due_days(h, "cost")) == (finance.id, 7)
    admin.post("/departments/routes", data={"category": "cost", "ward_id": world.ward_b.id, "due_days": "7"})
    assert departments.suggest_department(h, "cost") == finance.id  # another hospital's ward refused
    assert departments.suggest_department(world.hospital_b.id, "cost") is None  # B has no 收费处
