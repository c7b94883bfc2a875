"""Defining follow-up plans: a hospital admin names the department and/or ICD-10 prefix, the
days (T+N), the deadline, the form's fields (from the library) and the script. A new plan
reaches back to past discharges within its window. Plans are never edited in place (tasks
already made follow the plan they came from): a changed plan is a new plan, the old one is
switched off (it then makes no new tasks; its open tasks stay in the queues)."""
import re
from datetime import datetime

from marshmallow import ValidationError, fields as f, post_load, validate, validates_schema
from sqlalchemy import select

from ..calls.scripts import _PLACEHOLDER, PLACEHOLDERS
from ..core import audit
from ..extensions import db
from ..models import Level, Ward
from ..models.plan import FollowupPlan
from ..schemas.followup_forms import _Strict
from .library import FIELDS
from .tasks import backfill, normalise_icd

MAX_DAY = 365


class PlanIn(_Strict):
    name = f.Str(required=True, validate=validate.Length(min=1, max=64, error="Name the plan (at most 64 characters)."))
    ward_id = f.Int(load_default=None, allow_none=True)
    icd_prefix = f.Str(load_default="", validate=validate.Regexp(r"^([A-Za-z][0-9A-Za-z.]{0,7})?$",
                                                                      error="An ICD-10 code prefix, such as I50."))
    level = f.Str(load_default=Level.WARD.value, validate=validate.OneOf([lv.value for lv in Level],
                                                                             error="Choose one of the listed values."))
    days = f.Str(required=True, metadata={"description": "T+N days, comma-separated: 3,30"})
    deadline_days = f.Int(load_default=2, validate=validate.Range(min=0, max=30, error="Between 0 and 30 days."))
    fields = f.List(f.Str(validate=validate.OneOf(list(FIELDS), error="Choose one of the listed values.")),
                         load_default=list)
    script = f.Str(load_default="", validate=validate.Length(max=4000, error="Write the script (at most 4000 characters)."))

    def __init__(self, *, ward_ids=(), **kw):
        super().__init__(**kw)
        self.ward_ids = set(ward_ids)

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **_kw):
        errors = {}
        if data.get("ward_id") and data["ward_id"] not in self.ward_ids:
            errors["ward_id"] = ["Choose a department of this hospital."]
        if "ward_id" in data and not data.get("ward_id") and not data.get("icd_prefix"):
            errors["_schema"] = ["Choose a department or a diagnosis code prefix (or both)."]
        days = data.get("days")
        if days is not None and not _parse_days(days):
            errors["days"] = ["Days after discharge, such as 3,30 (1 to 365)."]
        unknown = {m.group(1) for m in _PLACEHOLDER.finditer(data.get("script", ""))} - set(PLACEHOLDERS)
        if unknown:
            errors["script"] = ["Unknown placeholder. Use {patient_name}, {discharge_date}, {department} or {doctor}."]
        if "fields" in data and not data["fields"]:
            errors["fields"] = ["Choose at least one field for the form."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _clean(self, data, **_kw):
        data["days"] = _parse_days(data["days"])
        data["icd_prefix"] = normalise_icd(data["icd_prefix"])
        data["fields"] = [k for k in FIELDS if k in data["fields"]]  # library order, no repeats
        return data


def _parse_days(text: str) -> list[int] | None:
    parts = [p for p in re.split(r"[,，\s]+", text or "") if p]
    if not parts or not all(p.isdigit() and 1 <= int(p) <= MAX_DAY for p in parts):
        return None
    return sorted({int(p) for p in parts})


def hospital_wards(hospital_id: int) -> list[Ward]:
    """Clinical departments a plan may name."""
    return list(db.session.scalars(select(Ward).where(Ward.hospital_id == hospital_id, Ward.kind == "clinical")
                                   .order_by(Ward.name)))


def create_plan(admin, data: dict, now: datetime) -> tuple[FollowupPlan, int]:
    """(the plan, tasks created for past discharges). Raises ValidationError. Flushes."""
    clean = PlanIn(ward_ids=[w.id for w in hospital_wards(admin.hospital_id)]).load(data)
    plan = FollowupPlan(hospital_id=admin.hospital_id, created_by_id=admin.id, created_at=now, active=True, **clean)
    db.session.add(plan)
    db.session.flush()
    made = backfill(plan, now)
    audit.record("plan.create", user=admin, object_type="followup_plan", object_id=plan.id,
                 detail={"days": plan.days, "backfilled": made}, now=now)
    db.session.flush()
    return plan, made


def set_active(admin, plan: FollowupPlan, active: bool, now: datetime) -> FollowupPlan:
    """Switch a plan off (no new tasks) or back on (past discharges within the window catch up)."""
    plan.active = active
    if active:
        backfill(plan, now)
    audit.record("plan.activate" if active else "plan.deactivate", user=admin, object_type="followup_plan",
                 object_id=plan.id, now=now)
    db.session.flush()
    return plan


def plan_filter(user):
    """Plans a user may see: a hospital admin her hospital's (and QA, read-only, for rates)."""
    from sqlalchemy import false
    from ..models import Role
    if user.role_enum in (Role.HOSPITAL_ADMIN, Role.QA) and user.hospital_id:
        return FollowupPlan.hospital_id == user.hospital_id
    return false()


def plans_of(user) -> list[FollowupPlan]:
    return list(db.session.scalars(select(FollowupPlan).where(plan_filter(user)).order_by(FollowupPlan.id.desc())))


def admin_page(admin, month: str, now: datetime) -> dict:
    """The plans page: the hospital's plans with their rates for discharges of `month`."""
    from ..core.access import hospital_ids_select
    from ..reports import monthly, rates
    start, end = monthly.date_bounds(month)
    figures = rates.plan_rates(hospital_ids_select(admin), start, end, now=now)
    plans = plans_of(admin)
    return {"plans": [{"plan": p, "rates": figures.get(p.id) or rates.empty()} for p in plans],
            "review": figures.get("review"), "wards": hospital_wards(admin.hospital_id), "month": month,
            "prev_month": monthly.shift(month, -1), "next_month": monthly.shift(month, 1)}
