"""Stays kept with missing data (no valid phone, no 离院方式) or a malformed ID number: the ward's
list of them, and completing one. Completing clears `FollowupTask.needs_data` on the stay's open
tasks (and, for a phone, on every stay of the patient), which makes them callable; a 离院方式 of
死亡 closes them. A malformed ID number does not stop anyone calling (the phone is good; the number
only matches the person across stays and hospitals), so its stay is listed apart and its tasks
stay callable; a corrected number becomes the patient's identity. Plain functions over the
session and a `now`; they flush, never commit."""
from datetime import datetime

from sqlalchemy import func, select, update

from ..core import audit
from ..core.access import discharge_filter, mask_id_number, task_filter
from ..extensions import db
from ..imports import values as v
from ..imports.errors import N_
from ..models import Discharge, FollowupTask, Role, User
from ..models.discharge import DISPOSITION_DIED, DISPOSITIONS
from ..models.task import OPEN_STATUSES
from ..imports.rows import check_id
from ..patients.identity import set_id_number, set_phones
from . import Invalid, NotAllowed, NotFound

PER_PAGE = 50


def may_complete(user: User) -> bool:
    """Ward nurses (head nurses too) complete their wards' stays."""
    return user.role_enum == Role.NURSE


def _waiting(user: User):
    return (FollowupTask.needs_data.is_not(None), FollowupTask.status.in_([str(s) for s in OPEN_STATUSES]),
            task_filter(user))


def needs_data_page(user: User, page: int = 1) -> dict:
    """The ward's stays whose tasks wait for data, earliest deadline first, a page at a time."""
    if not may_complete(user):
        raise NotAllowed("only ward nurses complete stays")
    page = max(page, 1)
    total = db.session.scalar(select(func.count()).select_from(FollowupTask).where(*_waiting(user)))
    tasks = db.session.scalars(select(FollowupTask).where(*_waiting(user))
                               .order_by(FollowupTask.due_at, FollowupTask.id)
                               .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    rows = [{"discharge_id": t.discharge_id, "due_at": t.due_at, "missing": t.missing,
             "name": t.discharge.patient.name, "inpatient_no": t.discharge.inpatient_no,
             "ward": t.discharge.ward.name, "discharged": t.discharge.discharge_date} for t in tasks]
    bad_ids = _bad_id_numbers(user)
    audit.record("needs_data.view", object_type="discharge",
                 detail={"ids": [r["discharge_id"] for r in rows + bad_ids["rows"]]})
    return {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
            "dispositions": DISPOSITIONS, "bad_ids": bad_ids}


def _bad_id_numbers(user: User) -> dict:
    """The stays in the user's wards whose ID number was set aside on import, oldest first."""
    where = (Discharge.id_number_issue.is_not(None), discharge_filter(user))
    total = db.session.scalar(select(func.count()).select_from(Discharge).where(*where))
    stays = db.session.scalars(select(Discharge).where(*where).order_by(Discharge.discharge_date, Discharge.id)
                               .limit(PER_PAGE)).all()
    return {"total": total, "rows": [
        {"discharge_id": d.id, "name": d.patient.name, "inpatient_no": d.inpatient_no, "ward": d.ward.name,
         "discharged": d.discharge_date, "reason": d.id_number_issue,
         "masked": mask_id_number(d.id_number_raw)} for d in stays]}


def complete_stay(user: User, discharge_id: int, phone: str, disposition: str, now: datetime,
                  id_number: str = "") -> Discharge:
    """Fill in what a stay lacks. Raises Invalid with the reason (a msgid) for a bad value."""
    if not may_complete(user):
        raise NotAllowed("only ward nurses complete stays")
    d = db.session.scalar(select(Discharge).where(Discharge.id == discharge_id, discharge_filter(user)))
    if d is None:
        raise NotFound("stay not found")
    changed = {}
    if phone.strip():
        good, bad = v.normalise_phones(phone)
        if not good:
            raise Invalid("; ".join(bad) or N_("not a phone number"), field="phone")
        set_phones(d.patient, good + [n for n in (d.patient.other_phones or "").split(",") if n and n not in good])
        changed["phone"] = True
        _clear(FollowupTask.discharge_id.in_(select(Discharge.id).where(Discharge.patient_id == d.patient_id)),
               "phone")
    if disposition.strip():
        try:
            code = v.normalise_code(disposition, v.DISPOSITION_ALIASES, v.UNKNOWN_DISPOSITION)
        except ValueError as exc:
            raise Invalid(str(exc), field="disposition") from None
        d.disposition, d.updated_at = code, now
        changed["disposition"] = code
        _clear(FollowupTask.discharge_id == d.id, "disposition")
        if code == DISPOSITION_DIED:
            db.session.execute(update(FollowupTask).where(FollowupTask.discharge_id == d.id, _open())
                               .values(status="closed", close_reason="deceased", needs_data=None,
                                       version=FollowupTask.version + 1))
    if id_number.strip():
        _correct_id_number(d, id_number, now)
        changed["id_number"] = True
    if not changed:
        raise Invalid(N_("required"), field="phone")
    audit.record("needs_data.complete", object_type="discharge", object_id=d.id,
                 detail={"phone": "phone" in changed, "disposition": changed.get("disposition"),
                         "id_number": "id_number" in changed})
    db.session.flush()
    return d


def _correct_id_number(d: Discharge, raw: str, now: datetime) -> None:
    """The number is checked as an import checks it (against the patient's birth date and sex);
    a good one becomes the patient's identity (hash and mask) and the set-aside value is dropped."""
    p = d.patient
    number, _raw, issue = check_id(raw, p.id_type, p.birth_date, p.sex)
    if issue:
        raise Invalid(issue, field="id_number")
    set_id_number(p, number, p.id_type)
    p.updated_at = now
    d.id_number_raw = d.id_number_issue = None
    d.updated_at = now


def _open():
    return FollowupTask.status.in_([str(s) for s in OPEN_STATUSES])


def _clear(which, what: str) -> None:
    """Remove `what` from the needs of the open tasks `which` selects (NULL when nothing is left)."""
    db.session.execute(update(FollowupTask).where(which, _open(), FollowupTask.needs_data.is_not(None))
                       .values(needs_data=func.nullif(func.replace(func.replace(
                           FollowupTask.needs_data, what, ""), ",", ""), ""),
                               version=FollowupTask.version + 1)
                       .execution_options(synchronize_session=False))
