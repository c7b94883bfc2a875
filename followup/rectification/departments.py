"""A hospital's departments as they are: clinical wards (discharge patients; tasks, queues, imports
and rates concern them only) and functional departments (职能科室: 医务科, 护理部, 收费处 ...), which
answer patients' opinions and ledger items. Codes are generated, never typed by hand."""
from datetime import datetime
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import audit
from ..extensions import db
from ..models import Ward
from ..models.department import CategoryRoute
from ..models.opinion import Category
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
        raise DepartmentError(_l("A department needs a name."))
    if db.session.scalar(select(Ward.id).where(Ward.hospital_id == hospital_id, Ward.name == name)):
        raise DepartmentError(_l("%(name)s already exists.", name=name))
    ward = Ward(hospital_id=hospital_id, code=next_code(hospital_id, kind), name=name, kind=kind.value)
    db.session.add(ward)
    db.session.flush()
    audit.record("org.department_create", user=user, object_type="ward", object_id=ward.id,
                 detail={"kind": kind.value}, now=now)
    return ward


# --- where an opinion goes, and how long its item may stay open ----------------------------------
# Defaults when the hospital has no rule of its own: billing to the cashier's office, the
# surroundings to logistics, waiting to the outpatient department; care itself (attitude,
# quality, communication) stays with the ward the patient was in (None).
DEFAULT_ROUTES = {
    Category.COST: ("收费处", "财务科"),
    Category.ENVIRONMENT: ("后勤保障科", "后勤"),
    Category.FOOD: ("后勤保障科", "后勤"),
    Category.PARKING_ACCESS: ("后勤保障科", "后勤"),
    Category.WAITING_PROCESS: ("门诊部",),
}
DEFAULT_DUE_DAYS = 15
URGENT_DUE_DAYS = 3


def _routes(hospital_id: int) -> dict[str, CategoryRoute]:
    return {r.category: r for r in db.session.scalars(
        select(CategoryRoute).where(CategoryRoute.hospital_id == hospital_id))}


def suggest_department(hospital_id: int, category: str | None, fallback_ward_id: int | None = None) -> int | None:
    """The department an opinion of `category` concerns: the hospital's rule, else the default
    functional department by name when the hospital has it, else the patient's own ward."""
    if category is None:
        return fallback_ward_id
    route = db.session.get(CategoryRoute, (hospital_id, category))
    if route is not None and route.ward_id is not None:
        return route.ward_id
    for name in DEFAULT_ROUTES.get(Category(category), ()):
        wid = db.session.scalar(select(Ward.id).where(Ward.hospital_id == hospital_id, Ward.name == name,
                                                      Ward.kind == WardKind.FUNCTIONAL))
        if wid is not None:
            return wid
    return fallback_ward_id


def suggestions(hospital_id: int, fallback_ward_id: int | None = None) -> dict[str, int | None]:
    """Every category with the department it suggests (for forms that preselect the department
    when a category is chosen: a billing opinion → 收费处)."""
    return {c.value: suggest_department(hospital_id, c.value, fallback_ward_id) for c in Category}


def due_days(hospital_id: int, category: str | None, urgent: bool = False) -> int:
    """Days an item may stay open: urgent 3; else the hospital's days for the category, else 15."""
    if urgent:
        return URGENT_DUE_DAYS
    route = db.session.get(CategoryRoute, (hospital_id, category)) if category else None
    return route.due_days if route is not None and route.due_days else DEFAULT_DUE_DAYS


def route_table(hospital_id: int) -> list[dict]:
    """Every category with its department (own rule or suggested) and days, for the settings page."""
    own = _routes(hospital_id)
    return [{"category": c.value, "ward_id": suggest_department(hospital_id, c.value),
             "due_days": due_days(hospital_id, c.value), "own": c.value in own} for c in Category]


def set_route(hospital_id: int, category: str, *, ward_id: int | None, days: int | None, user, now: datetime) -> None:
    """The hospital's rule for one category (department and/or days; None = the default)."""
    category = Category(category).value
    if ward_id is not None and db.session.scalar(
            select(Ward.id).where(Ward.id == ward_id, Ward.hospital_id == hospital_id)) is None:
        raise DepartmentError(_l("Choose a department of this hospital."))
    if days is not None and not 1 <= days <= 90:
        raise DepartmentError(_l("Days must be between 1 and 90."))
    route = db.session.get(CategoryRoute, (hospital_id, category)) or CategoryRoute(
        hospital_id=hospital_id, category=category)
    route.ward_id, route.due_days = ward_id, days
    db.session.add(route)
    db.session.flush()
    audit.record("org.category_route", user=user, object_type="hospital", object_id=hospital_id, now=now,
                 detail={"category": category, "ward_id": ward_id, "due_days": days})


# --- import from a file -----------------------------------------------------------------------
NAME_HEADERS = {"名称", "科室", "科室名称", "部门", "部门名称", "name", "department"}
KIND_HEADERS = {"类型", "科室类型", "kind", "type"}
KIND_WORDS = {"职能": WardKind.FUNCTIONAL, "职能科室": WardKind.FUNCTIONAL, "functional": WardKind.FUNCTIONAL,
              "临床": WardKind.CLINICAL, "临床科室": WardKind.CLINICAL, "clinical": WardKind.CLINICAL}
MAX_IMPORT_ROWS = 500


def import_departments(hospital_id: int, stream: BinaryIO, filename: str, *, default_kind: str, user,
                       now: datetime) -> dict:
    """A CSV or xlsx list of departments: a name column (名称/科室/部门), optionally a kind column
    (类型: 职能/临床; else `default_kind`). Existing names are skipped; codes are generated.
    Returns {"added": [...], "skipped": [...], "errors": [(row, reason)]}."""
    from ..imports.errors import FileError
    from ..imports.headers import normalise_header
    from ..imports.tables import open_table
    try:
        table = open_table(stream, filename)
    except FileError as exc:
        raise DepartmentError(str(exc)) from exc
    headers = [normalise_header(str(h or "")).lower() for h in table.headers]
    name_col = next((i for i, h in enumerate(headers) if h in NAME_HEADERS), None)
    kind_col = next((i for i, h in enumerate(headers) if h in KIND_HEADERS), None)
    if name_col is None:
        table.close()
        raise DepartmentError(_l("The file needs a column 名称 (or 科室, 部门)."))
    out = {"added": [], "skipped": [], "errors": []}
    for row_no, values, problem in table.rows():
        if row_no > MAX_IMPORT_ROWS + 1:
            out["errors"].append((row_no, f"more than {MAX_IMPORT_ROWS} rows: the rest is ignored"))
            break
        name = " ".join(str(values[name_col] or "").split()) if name_col < len(values) else ""
        raw_kind = str(values[kind_col] or "").strip().lower() if kind_col is not None and kind_col < len(values) else ""
        kind = KIND_WORDS.get(raw_kind) if raw_kind else WardKind(default_kind)
        if problem or not name or kind is None:
            out["errors"].append((row_no, problem or ("unknown kind: " + raw_kind if name else "no name")))
            continue
        try:
            out["added"].append(add_department(hospital_id, name, kind, user=user, now=now).name)
        except DepartmentError:
            out["skipped"].append(name)
    table.close()
    return out


def admin_page(hospital_id: int) -> dict:
    """The departments page: both kinds, the defaults not yet added, the category table."""
    from ..core.labels import CATEGORY_LABELS, WARD_KIND_LABELS
    all_wards = departments(hospital_id)
    names = {w.name for w in all_wards}
    return {"clinical": [w for w in all_wards if w.kind == WardKind.CLINICAL],
            "functional": [w for w in all_wards if w.kind == WardKind.FUNCTIONAL],
            "missing_defaults": [n for n in FUNCTIONAL_DEFAULTS if n not in names],
            "routes": route_table(hospital_id), "ward_names": {w.id: w.name for w in all_wards},
            "all_wards": all_wards, "category_labels": CATEGORY_LABELS, "kind_labels": WARD_KIND_LABELS,
            "default_days": DEFAULT_DUE_DAYS, "urgent_days": URGENT_DUE_DAYS}
