"""Patient-level outcomes: a death (患者已故) or a do-not-call wish (拒绝所有随访, or the hospital's
do-not-call list) closes every open task of the person and keeps later imports from creating
new ones (blocks.py); undoing or lifting a mark (a named user, audited) reopens what it closed.

- A death closes the person's open tasks at both levels and for every stay in the hospital, and
  in the other hospitals of the service where the ID-number hash matches.
- A do-not-call mark is per hospital: by the patient's row (and ID-number hash) when recorded on a
  call; by phone number or ID number when imported from a list.
- Tasks closed by a mark carry close_reason = the mark's kind and close_mark_id; the mark keeps
  the attempt that found it. Undo reopens exactly those tasks, open again as they were.
Functions take `now`, flush, never commit."""
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update

from ..core import audit
from ..core.access import mask_name, mask_phone
from ..core.crypto import Keys
from ..extensions import db
from ..models import Discharge, FollowupTask, Patient, Role, TaskStatus, User
from ..models.outcome import MarkKind, MarkSource, PatientMark, PatientPhone
from ..models.task import OPEN_STATUSES


class MarkError(Exception):
    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message, self.status = message, status


def _matched_patients(mark: PatientMark):
    """SELECT of the patient ids one mark covers (across hospitals for a death by ID hash)."""
    clauses = []
    if mark.patient_id is not None:
        clauses.append(Patient.id == mark.patient_id)
    if mark.id_number_hash:
        same_id = Patient.id_number_hash == mark.id_number_hash
        clauses.append(same_id if mark.kind == MarkKind.DECEASED else same_id & (Patient.hospital_id == mark.hospital_id))
    if mark.phone_hash:
        clauses.append(Patient.id.in_(select(PatientPhone.patient_id).where(
            PatientPhone.hospital_id == mark.hospital_id, PatientPhone.phone_hash == mark.phone_hash)))
    return select(Patient.id).where(or_(*clauses)) if clauses else select(Patient.id).where(False)


def close_tasks_for(mark: PatientMark, now: datetime, *, keep_task_id: int | None = None) -> list[int]:
    """Close every open task of the patients the mark covers. Returns their ids."""
    where = (FollowupTask.status.in_(OPEN_STATUSES),
             FollowupTask.discharge_id.in_(select(Discharge.id).where(Discharge.patient_id.in_(_matched_patients(mark)))))
    if keep_task_id is not None:
        where += (FollowupTask.id != keep_task_id,)
    ids = list(db.session.scalars(select(FollowupTask.id).where(*where)))
    if ids:
        db.session.execute(update(FollowupTask).where(FollowupTask.id.in_(ids), FollowupTask.status.in_(OPEN_STATUSES))
                           .values(status=TaskStatus.CLOSED, close_reason=str(mark.kind), close_mark_id=mark.id,
                                   completed_at=now, claimed_by_id=None, claimed_at=None, next_attempt_at=None,
                                   callback_at=None, version=FollowupTask.version + 1)
                           .execution_options(synchronize_session=False))
    return ids


def _mark(user: User | None, kind: MarkKind, hospital_id: int, now: datetime, *, patient: Patient | None = None,
          source=MarkSource.CALL, reason: str = "", attempt_id: int | None = None, **match) -> PatientMark:
    mark = PatientMark(hospital_id=hospital_id, kind=kind, source=source, reason=reason[:500],
                       attempt_id=attempt_id, created_by_id=getattr(user, "id", None), created_at=now,
                       patient_id=patient.id if patient else None,
                       id_number_hash=match.get("id_number_hash", patient.id_number_hash if patient else None),
                       phone_hash=match.get("phone_hash"),
                       shown_as=match.get("shown_as", mask_name(patient.name) if patient else ""))
    db.session.add(mark)
    db.session.flush()
    return mark


def record_on_call(user: User, task: FollowupTask, kind: MarkKind, attempt_id: int, now: datetime,
                   note: str = "") -> PatientMark:
    """A death or a 'never call again' recorded on a call: mark the patient, tie the dial's own
    task to the mark, close every other open task the mark covers. Audited."""
    patient = task.discharge.patient
    mark = _mark(user, kind, task.hospital_id, now, patient=patient, reason=note, attempt_id=attempt_id)
    task.close_mark_id = mark.id
    if kind == MarkKind.DECEASED:
        task.close_reason = str(MarkKind.DECEASED)
    closed = close_tasks_for(mark, now, keep_task_id=task.id)
    db.session.flush()
    audit.record("patient.mark", user=user, object_type="patient_mark", object_id=mark.id,
                 detail={"kind": str(kind), "task": task.id, "attempt": attempt_id, "closed": closed}, now=now)
    return mark


def close_blocked(hospital_id: int, patient_ids, now: datetime) -> list[int]:
    """Close the open tasks of those of these patients a mark covers (after an import chunk,
    once every number of its patients is indexed: a list may name a patient's second number)."""
    from .blocks import blocked_among
    blocked = blocked_among(hospital_id, patient_ids)
    if not blocked:
        return []
    people = db.session.execute(select(Patient.id, Patient.id_number_hash).where(Patient.id.in_(blocked))).all()
    hashes = {h for _, h in people if h}
    phones = select(PatientPhone.phone_hash).where(PatientPhone.patient_id.in_(blocked))
    marks = db.session.scalars(select(PatientMark).where(PatientMark.lifted_at.is_(None), or_(
        PatientMark.patient_id.in_(blocked), PatientMark.id_number_hash.in_(hashes),
        (PatientMark.hospital_id == hospital_id) & PatientMark.phone_hash.in_(phones))))
    return [t for mark in marks for t in close_tasks_for(mark, now)]


def may_lift(user: User, mark: PatientMark) -> bool:
    """A head nurse or centre lead of the hospital, or its hospital admin."""
    if user.hospital_id != mark.hospital_id or not user.active:
        return False
    return user.role_enum == Role.HOSPITAL_ADMIN or (user.is_head_nurse and user.role_enum in (Role.NURSE, Role.CENTRE_STAFF))


def lift(user: User, mark_id: int, reason: str, now: datetime) -> list[int]:
    """Undo a death entered by mistake, or lift a do-not-call mark: a named user with a reason.
    Reopens the tasks the mark closed (the refusal's own call stays refused). Audited."""
    mark = db.session.get(PatientMark, mark_id)
    if mark is None or not may_lift(user, mark):
        raise MarkError("mark not found", 404)
    if mark.lifted_at is not None:
        raise MarkError("already lifted")
    reason = (reason or "").strip()
    if not reason:
        raise MarkError("give a reason", 422)
    mark.lifted_by_id, mark.lifted_at, mark.lift_reason = user.id, now, reason[:500]
    reopened = list(db.session.scalars(select(FollowupTask.id).where(
        FollowupTask.close_mark_id == mark.id, FollowupTask.status == TaskStatus.CLOSED,
        FollowupTask.close_reason == str(mark.kind))))
    if reopened:
        db.session.execute(update(FollowupTask).where(FollowupTask.id.in_(reopened))
                           .values(status=TaskStatus.OPEN, close_reason=None, close_mark_id=None, completed_at=None,
                                   version=FollowupTask.version + 1)
                           .execution_options(synchronize_session=False))
    db.session.flush()
    audit.record("patient.mark_lift", user=user, object_type="patient_mark", object_id=mark.id,
                 detail={"kind": mark.kind, "reopened": reopened}, now=now)
    return reopened


# --- the hospital's do-not-call list ------------------------------------------------------------

@dataclass
class ListResult:
    marked: int = 0
    already: int = 0
    closed: int = 0
    bad: list[str] = field(default_factory=list)  # "line N: reason" (no personal data)


def import_list(user: User, lines: list[str], reason: str, now: datetime, keys: Keys) -> ListResult:
    """One phone number or resident ID number per line → a do-not-call mark of the admin's
    hospital each (matched by blind index / ID hash), and the open tasks they cover closed."""
    out = ListResult()
    h = user.hospital_id
    for no, raw in enumerate(lines, start=1):
        text = (raw or "").strip().strip(",;")
        if not text or no == 1 and not any(ch.isdigit() for ch in text):  # blank, or a header line
            continue
        try:
            match = _list_entry(text, keys)
        except ValueError:
            out.bad.append(str(no))
            continue
        key = PatientMark.phone_hash == match["phone_hash"] if match.get("phone_hash") else \
            PatientMark.id_number_hash == match["id_number_hash"]
        if db.session.scalar(select(PatientMark.id).where(PatientMark.hospital_id == h, PatientMark.lifted_at.is_(None),
                                                          PatientMark.kind == MarkKind.DO_NOT_CALL, key)):
            out.already += 1
            continue
        mark = _mark(user, MarkKind.DO_NOT_CALL, h, now, source=MarkSource.LIST, reason=reason, **match)
        out.marked += 1
        out.closed += len(close_tasks_for(mark, now))
    audit.record("patient.do_not_call_list", user=user, object_type="hospital", object_id=h,
                 detail={"marked": out.marked, "already": out.already, "closed": out.closed, "bad": len(out.bad)}, now=now)
    return out


def _list_entry(text: str, keys: Keys) -> dict:
    """A resident ID number (18 characters, or 15 digits) or else a phone number → how to match it."""
    from ..imports.values import normalise_phone, normalise_resident_id
    compact = unicodedata.normalize("NFKC", text).replace(" ", "").replace("-", "")
    if len(compact) == 18 or (len(compact) == 15 and compact.isdigit() and not compact.startswith("0")):
        number = normalise_resident_id(compact)
        return {"id_number_hash": keys.blind_index(f"resident:{number}"), "shown_as": number[:6] + "********" + number[-4:]}
    e164 = normalise_phone(text)
    return {"id_number_hash": None, "phone_hash": keys.blind_index(e164), "shown_as": mask_phone(e164)}


def marks_page(user: User, *, active_only: bool = True, limit: int = 200) -> list[dict]:
    """The hospital's marks for its admin (and head nurses): masked, newest first."""
    q = select(PatientMark).where(PatientMark.hospital_id == user.hospital_id)
    if active_only:
        q = q.where(PatientMark.lifted_at.is_(None))
    marks = list(db.session.scalars(q.order_by(PatientMark.created_at.desc(), PatientMark.id.desc()).limit(limit)))
    return _with_names(user, marks)


def _with_names(user: User, marks: list[PatientMark]) -> list[dict]:
    people = {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(
        {m.created_by_id for m in marks} | {m.lifted_by_id for m in marks})))}
    return [{"mark": m, "by": people.get(m.created_by_id, ""), "lifted_by": people.get(m.lifted_by_id, ""),
             "may_lift": m.lifted_at is None and may_lift(user, m)} for m in marks]


def marks_of_patient(user: User, patient_id: int) -> list[dict]:
    """Marks naming this patient's row, for the discharge page (with undo where the user may)."""
    return _with_names(user, list(db.session.scalars(
        select(PatientMark).where(PatientMark.patient_id == patient_id).order_by(PatientMark.created_at.desc()))))


def may_manage_marks(user: User) -> bool:
    """The marks page: the hospital admin, and head nurses / centre leads (undo a death)."""
    return bool(user.hospital_id) and (user.role_enum == Role.HOSPITAL_ADMIN or (
        user.is_head_nurse and user.role_enum in (Role.NURSE, Role.CENTRE_STAFF)))


def read_list_file(data: bytes) -> list[str]:
    """A do-not-call list as uploaded: text or CSV, UTF-8 or GB18030; first column of each line."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise MarkError("the file is neither UTF-8 nor GB18030 text", 422)
    return [line.split(",")[0].split("\t")[0] for line in text.splitlines()]
