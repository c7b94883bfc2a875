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
