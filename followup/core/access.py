"""The one place that decides who may see what: scope filters for every query, and masking.

A row outside the user's scope is indistinguishable from a missing one (404)."""
from types import SimpleNamespace

from flask import abort
from sqlalchemy import bindparam, false, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Discharge, FollowupTask, Hospital, Level, Region, Role, User

# Roles that call patients and so may reveal their phone number (logged).
CALLER_ROLES = {Role.NURSE, Role.CENTRE_STAFF}
# Auditors open only the records a sample grants them (see register_discharge_grant).
AUDITOR_ROLES = {Role.COUNTY_AUDITOR, Role.CITY_AUDITOR}
# Roles that may open the hospital's discharge records (the /discharges pages).
HOSPITAL_RECORD_ROLES = (Role.NURSE, Role.CENTRE_STAFF, Role.QA, Role.HOSPITAL_ADMIN)
# Roles that never see patient-level data at all (separation of duties).
NO_PATIENT_ROLES = {Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.DEPT_RESPONDER}


def hospital_ids_select(user: User):
    """A SELECT of the hospital ids a user's role covers (figures, not necessarily patients)."""
    role = user.role_enum
    if role in (Role.NURSE, Role.DEPT_RESPONDER, Role.CENTRE_STAFF, Role.QA, Role.HOSPITAL_ADMIN):
        return select(Hospital.id).where(Hospital.id == user.hospital_id)
    if role == Role.COUNTY_AUDITOR:
        return select(Hospital.id).where(Hospital.region_id == user.region_id)
    if role == Role.CITY_AUDITOR:
        counties = select(Region.id).where(Region.parent_id == user.region_id)
        return select(Hospital.id).where(
            (Hospital.region_id == user.region_id) | Hospital.region_id.in_(counties))
    return select(Hospital.id).where(false())


def discharge_filter(user: User):
    """WHERE clause limiting Discharge rows to those the user may open."""
    role = user.role_enum
    if role == Role.NURSE:
        return Discharge.ward_id.in_(user.ward_ids) if user.ward_ids else false()
    if role in (Role.CENTRE_STAFF, Role.QA, Role.HOSPITAL_ADMIN):
        return Discharge.hospital_id == user.hospital_id
    # Auditors see only records a sample grants them (the sampling module widens this).
    for extra in _discharge_grants:
        clause = extra(user)
        if clause is not None:
            return clause
    return false()


def task_filter(user: User):
    """WHERE clause for FollowupTask: nurses their wards' ward-level tasks, the centre its
    hospital's hospital-level tasks, QA and admins (read-only) their hospital's tasks."""
    role = user.role_enum
    if role == Role.NURSE:
        if isinstance(user.ward_ids, list) and not user.ward_ids:  # (or a bound parameter: queueing.py)
            return false()
        return (FollowupTask.level == Level.WARD) & FollowupTask.ward_id.in_(user.ward_ids)
    if role == Role.CENTRE_STAFF:
        return (FollowupTask.level == Level.HOSPITAL) & (FollowupTask.hospital_id == user.hospital_id)
    if role in (Role.QA, Role.HOSPITAL_ADMIN):
        return FollowupTask.hospital_id == user.hospital_id
    return false()


# Later features (audit sampling) register functions user -> clause | None that grant auditors
# access to particular discharges.
_discharge_grants = []


def register_discharge_grant(fn):
    _discharge_grants.append(fn)
    return fn


def get_discharge_or_404(user: User, discharge_id: int) -> Discharge:
    d = db.session.scalar(select(Discharge).where(Discharge.id == discharge_id, discharge_filter(user)))
    if d is None:
        abort(404)
    return d


# Statements a caller's requests run every time, built once per shape of user (role, whether the
# user has wards) with the user's ids as bound parameters: building a statement and its cache key
# anew is a large share of a short request's CPU (bench/caller_cost.py --profile). Shared by
# threads: a built statement is immutable, and its cache key is memoized on it.
_BUILT: dict[tuple, object] = {}


def built_for(user: User, key: tuple, build):
    """(the statement `build(caller)` makes for this shape of user, built once: `caller` has the
    user's role_enum, and bound parameters uid, hid and wards (expanding) for id, hospital_id and
    ward_ids; the parameters for this user). `key` names the statement and anything else its
    shape depends on."""
    shape = (*key, user.role_enum, bool(user.ward_ids))
    stmt = _BUILT.get(shape)
    if stmt is None:
        caller = SimpleNamespace(role_enum=user.role_enum, id=bindparam("uid"), hospital_id=bindparam("hid"),
                                 ward_ids=bindparam("wards", expanding=True) if user.ward_ids else [])
        stmt = build(caller)
        if len(_BUILT) < 256:  # shapes are few (roles × statements × …); bounded all the same
            _BUILT[shape] = stmt
    params = {"uid": user.id, "hid": user.hospital_id}
    if user.ward_ids:
        params["wards"] = list(user.ward_ids)
    return stmt, params


# A task shown with its stay, patient and ward: loaded in the task's own statement.
WITH_PATIENT = (joinedload(FollowupTask.discharge, innerjoin=True).joinedload(Discharge.patient, innerjoin=True),
                joinedload(FollowupTask.discharge, innerjoin=True).joinedload(Discharge.ward, innerjoin=True))


def find_task(user: User, task_id: int, *, with_patient: bool = False) -> FollowupTask | None:
    """A task in the user's scope (None when it is not there, or not the user's to see);
    with_patient: its stay, patient and ward loaded in the same statement (no lazy loads)."""
    stmt, params = built_for(user, ("task", with_patient), lambda caller: select(FollowupTask).where(
        FollowupTask.id == bindparam("tid"), task_filter(caller)).options(*(WITH_PATIENT if with_patient else ())))
    return db.session.scalar(stmt, {**params, "tid": task_id})


def get_task_or_404(user: User, task_id: int, *, with_patient: bool = False) -> FollowupTask:
    t = find_task(user, task_id, with_patient=with_patient)
    if t is None:
        abort(404)
    return t


def may_reveal_contact(user: User) -> bool:
    """Callers reveal a patient's number (logged). Auditors never open the hospital's record:
    the sampling call screen shows a sampled patient's number instead."""
    return user.role_enum in CALLER_ROLES


def may_see_name(user: User) -> bool:
    return user.role_enum in CALLER_ROLES


# --- masking -------------------------------------------------------------------------------

def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧阳**: keep the surname-ish first char(s)."""
    if not name:
        return ""
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_phone(e164: str | None) -> str:
    """+8613812345678 → 138****5678; landlines keep the area code and last 2 digits."""
    if not e164:
        return ""
    e164, _sep, extension = e164.partition(";ext=")  # an extension is kept as it is (not personal)
    if extension:
        return f"{mask_phone(e164)} 转{extension}"
    digits = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    return digits[:3] + "*" * max(len(digits) - 5, 0) + digits[-2:]


def mask_id_number(id_number: str | None) -> str:
    """18-digit resident ID → 371502********123X (region prefix and last 4 only)."""
    if not id_number:
        return ""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]



# --- QA: the monthly summary, opinions and the rectification ledger ---------------------------
# QA reads what patients said in its hospital; auditors see only figures of their region's
# hospitals; department responders see only their departments' ledger items; nurses none of it.
SUMMARY_ROLES = {Role.QA, Role.COUNTY_AUDITOR, Role.CITY_AUDITOR}


def summary_hospital_ids(user: User):
    """SELECT of the hospitals whose monthly figures the user may see."""
    if user.role_enum not in SUMMARY_ROLES:
        return select(Hospital.id).where(false())
    return hospital_ids_select(user)


def may_read_call_words(user: User) -> bool:
    """Opinions read back verbatim on a discharge's calls: the callers who heard them (within
    their task scope) and QA; a hospital admin sees that they exist, not the words."""
    return user.role_enum in CALLER_ROLES or user.role_enum == Role.QA


def may_read_opinions(user: User) -> bool:
    """Patients' words (complaint and praise texts) are for the hospital's QA only."""
    return user.role_enum == Role.QA


def get_summary_hospital_or_404(user: User, hospital_id: int) -> Hospital:
    h = db.session.scalar(select(Hospital).where(Hospital.id == hospital_id,
                                                 Hospital.id.in_(summary_hospital_ids(user))))
    if h is None:
        abort(404)
    return h


def opinion_filter(user: User):
    from ..models.opinion import Opinion
    return Opinion.hospital_id == user.hospital_id if user.role_enum == Role.QA else false()


LEDGER_ROLES = {Role.QA, Role.DEPT_RESPONDER}


def ledger_filter(user: User):
    """QA: its hospital's items; a responder: the items assigned to its departments."""
    from ..models.opinion import RectificationItem as RI
    role = user.role_enum
    if role == Role.QA:
        return RI.hospital_id == user.hospital_id
    if role == Role.DEPT_RESPONDER and user.ward_ids:
        return (RI.hospital_id == user.hospital_id) & RI.ward_id.in_(user.ward_ids)
    return false()


def finding_filter(user: User):
    """Ledger items that are a commission's findings: its own auditors' (their region raised them)."""
    from ..models.opinion import ItemCase, RectificationItem as RI
    if user.role_enum not in AUDITOR_ROLES or user.region_id is None:
        return false()
    return RI.id.in_(select(ItemCase.item_id).where(ItemCase.commission_region_id == user.region_id))


def evidence_item_or_404(user: User, item_id: int):
    """The ledger item whose evidence the user may open: in the ledger scope, or the auditor's finding."""
    from ..models.opinion import RectificationItem as RI
    scope = finding_filter if user.role_enum in AUDITOR_ROLES else ledger_filter
    return get_scoped_or_404(user, RI, item_id, scope)


def get_scoped_or_404(user: User, model, row_id: int, scope):
    """One row of `model` by id inside scope(user), else 404 (missing and forbidden look alike)."""
    row = db.session.scalar(select(model).where(model.id == row_id, scope(user)))
    if row is None:
        abort(404)
    return row


def qc_filter(user: User):
    """QC reviews of sampled calls (质控抽查): the hospital's QA only."""
    from ..models.quality import QcReview
    return QcReview.hospital_id == user.hospital_id if user.role_enum == Role.QA else false()


# --- calls: red-flag alerts raised on ward-level calls ------------------------------------------

def red_flag_filter(user: User):
    """The ward's nurses (head nurse included) see its alerts; QA and the hospital admin their
    hospital's."""
    from ..models.alert import RedFlagAlert
    role = user.role_enum
    if role == Role.NURSE:
        return RedFlagAlert.ward_id.in_(user.ward_ids) if user.ward_ids else false()
    if role in (Role.QA, Role.HOSPITAL_ADMIN):
        return RedFlagAlert.hospital_id == user.hospital_id
    return false()


# --- audit samples (第三方随机抽查) --------------------------------------------------------------
# An auditor works (opens patient records of) only the samples drawn for their own region: a
# county auditor its county's draws (whose hospitals are never 市直), a city auditor the city's.
# The city also sees its counties' draws, without patient data. Hospital roles see none of it.

def sample_filter(user: User):
    """AuditSample rows whose draw record and per-hospital figures the user may see."""
    from ..models.sample import AuditSample
    role = user.role_enum
    if role == Role.COUNTY_AUDITOR:
        return AuditSample.region_id == user.region_id
    if role == Role.CITY_AUDITOR:
        counties = select(Region.id).where(Region.parent_id == user.region_id)
        return (AuditSample.region_id == user.region_id) | AuditSample.region_id.in_(counties)
    return false()


def sampled_record_filter(user: User):
    """SampledRecord rows (patients) the user may call: their own region's draws only."""
    from ..models.sample import AuditSample, SampledRecord
    if user.role_enum not in AUDITOR_ROLES or user.region_id is None:
        return false()
    own = select(AuditSample.id).where(AuditSample.region_id == user.region_id)
    clause = SampledRecord.sample_id.in_(own)
    if user.role_enum == Role.COUNTY_AUDITOR:  # belt and braces: never a 市直 hospital
        clause = clause & SampledRecord.hospital_id.in_(hospital_ids_select(user))
    return clause


@register_discharge_grant
def _sampled_discharges(user: User):
    """Auditors open exactly the discharges sampled in their own region's draws."""
    if user.role_enum not in AUDITOR_ROLES:
        return None
    from ..models.sample import SampledRecord
    return Discharge.id.in_(select(SampledRecord.discharge_id).where(sampled_record_filter(user)))


def may_draw_sample(user: User, region: Region) -> bool:
    return user.role_enum in AUDITOR_ROLES and region.id == user.region_id


def import_batch_filter(user: User):
    """Import batches (and their rejected rows): a hospital admin sees her hospital's only."""
    from ..models.imports import ImportBatch
    if user.role_enum == Role.HOSPITAL_ADMIN and user.hospital_id:
        return ImportBatch.hospital_id == user.hospital_id
    return false()


def get_import_batch_or_404(user: User, batch_id: int):
    from ..models.imports import ImportBatch
    batch = db.session.scalar(select(ImportBatch).where(ImportBatch.id == batch_id, import_batch_filter(user)))
    if batch is None:
        abort(404)
    return batch


def import_setting_or_404(user: User, model, row_id: int):
    """A per-hospital import setting (API token, column mapping, code map): the hospital admin's own only."""
    if user.role_enum == Role.HOSPITAL_ADMIN and user.hospital_id:
        return get_scoped_or_404(user, model, row_id, lambda u: model.hospital_id == u.hospital_id)
    abort(404)


def require_patient_duties(user: User) -> None:
    """404 for roles whose duties never include patients (separation of duties), even where
    the scope filter would only give them an empty list."""
    if user.role_enum in NO_PATIENT_ROLES:
        abort(404)


def blueprint_only_for(bp, *roles) -> None:
    """Every page of `bp` needs a signed-in user of one of `roles`; anyone else gets 404 (the
    pages of another duty do not exist for them)."""
    from flask_login import current_user, login_required
    allowed = {str(r) for r in roles}

    @bp.before_request
    @login_required
    def _only_these_roles():
        if current_user.role not in allowed:
            abort(404)
