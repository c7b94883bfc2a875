"""A hospital's departments as they are: clinical wards (discharge patients; tasks, queues, imports
and rates concern them only) and functional departments (职能科室: 医务科, 护理部, 收费处 ...), which
answer patients' opinions and ledger items. Codes are generated, never typed by hand."""
from datetime import datetime

from sqlalchemy import select

from ..core import audit
from ..extensions import db
from ..models import Ward
from ..models.org import WardKind

# What a hospital usually has besides its clinical wards; offered on the departments page.
FUNCTIONAL_DEFAULTS = ("医务科", "护理部", "收费处", "财务科", "后勤保障科", "门诊部", "医保办", "药剂科")
CODE_PREFIX = {WardKind.CLINICAL: "LC", WardKind.FUNCTIONAL: "ZN"}


class DepartmentError(ValueError):
    """A department that cannot be added as asked (empty or duplicate name)."""


def clinical():
    """WHERE clause: clinical wards only (every list of wards that tasks, queues, imports or
    rates use)."""
    return Ward.kind == WardKind.CLINICAL


def departments(hospital_id: int, kind: WardKind | None = None) -> list[Ward]:
    """A hospital's departments, clinical first, by name."""
    q = select(Ward).where(Ward.hospital_id == hospital_id)
    if kind is not None:
        q = q.where(Ward.kind == kind)
    return list(db.session.scalars(q.order_by(Ward.kind, Ward.name)))


def next_code(hospital_id: int, kind: WardKind) -> str:
    """The next free generated code of a kind in a hospital: LC001 …, ZN001 …"""
    prefix = CODE_PREFIX[WardKind(kind)]
    taken = set(db.session.scalars(select(Ward.code).where(Ward.hospital_id == hospital_id,
                                                           Ward.code.startswith(prefix))))
    n = 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def add_department(hospital_id: int, name: str, kind: WardKind | str, *, user, now: datetime) -> Ward:
    """Add a department with a generated code. Names are unique within a hospital."""
    kind = WardKind(kind)
    name = " ".join((name or "").split())[:64]
    if not name:
        raise DepartmentError("a department needs a name")
    if db.session.scalar(select(Ward.id).where(Ward.hospital_id == hospital_id, Ward.name == name)):
        raise DepartmentError(f"{name} already exists")
    ward = Ward(hospital_id=hospital_id, code=next_code(hospital_id, kind), name=name, kind=kind.value)
    db.session.add(ward)
    db.session.flush()
    audit.record("org.department_create", user=user, object_type="ward", object_id=ward.id,
                 detail={"kind": kind.value}, now=now)
    return ward
