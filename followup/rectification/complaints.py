"""One intake for complaints (投诉一口受理): QA and the follow-up centre register a complaint from any
channel with the patient, the text verbatim and the department; each item gets a named
responsible person, a deadline by category (the hospital's, default 15 days, urgent 3), evidence
at close and the reply to the patient (回复患者). A hospital-level rating of 1–2 in any dimension
opens an item by itself (好差评: 不满意评价第一时间调查处理).

Operations flush and audit but never commit; they raise ComplaintError for what the user must fix."""
import hashlib
import logging
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import audit
from ..core.access import discharge_filter
from ..core.labels import SATISFACTION_LABELS, stored_text
from ..core.clock import local_date
from ..extensions import db
from ..models import Discharge, Role, User, Ward
from ..models.call import HospitalFollowup
from ..models.opinion import Category, ItemCase, ItemEvidence, ItemStatus, Opinion, RectificationItem, Sentiment
from . import departments, ledger

# Codes fit Opinion.source (16): the opinion a complaint makes carries its channel.
CHANNELS = ("call", "hotline_12345", "walk_in", "letter", "online", "referral")
REPLY_SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
INTAKE_ROLES = (Role.QA, Role.CENTRE_STAFF)
# Hospital-level satisfaction dimensions (HospitalFollowup.sat_*) and the category each suggests.
RATING_CATEGORIES = {"overall": Category.OTHER, "doctors": Category.MEDICAL_QUALITY,
                     "nurses": Category.SERVICE_ATTITUDE, "environment": Category.ENVIRONMENT,
                     "cost": Category.COST, "process": Category.WAITING_PROCESS}
POOR_RATING = 2  # 1–2 of 5
# Evidence files: what we accept, recognised by their first bytes (never by the name or the
# browser's word), and stored under a random name outside static/.
EVIDENCE_TYPES = {b"%PDF-": ("application/pdf", ".pdf"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
                  b"\xff\xd8\xff": ("image/jpeg", ".jpg")}
PARTIAL = ".partial"  # a file being written; renamed to its key once whole
# A file no evidence row names is removed once this old: older than any transaction that could
# still commit the row naming it.
ORPHAN_AGE = timedelta(days=1)

log = logging.getLogger(__name__)


def evidence_root() -> Path:
    """Where evidence files live: FOLLOWUP_EVIDENCE_DIR (storage shared by every machine that
    serves or sweeps it), else instance/evidence."""
    return Path(current_app.config.get("EVIDENCE_DIR") or Path(current_app.instance_path) / "evidence")


class ComplaintError(ValueError):
    """Something the user must fix (a missing field, a file we do not accept)."""


def case_of(item: RectificationItem) -> ItemCase:
    """The item's intake details, made on first need (items from calls start without)."""
    if item.case is None:
        item.case = ItemCase(item_id=item.id, discharge_id=item.opinion.discharge_id if item.opinion else None,
                             category=item.opinion.category if item.opinion else None)
        db.session.flush()
    return item.case


def find_stay(user: User, query: str) -> Discharge | None:
    """The patient's latest stay inside the user's scope: by 住院号, else through the same search
    as the call screen (name, pinyin, any phone number, last 4 digits with a name) when it finds
    exactly one patient."""
    text = (query or "").strip()
    if not text:
        return None
    stay = db.session.scalar(select(Discharge).where(Discharge.inpatient_no == text, discharge_filter(user))
                             .order_by(Discharge.discharge_at.desc()).limit(1))
    if stay is not None:
        return stay
    from ..core.crypto import keys
    from ..patients.search import search
    stays = search(user, text, keys())
    return stays[0] if len({d.patient_id for d in stays}) == 1 else None


def register(user: User, *, discharge: Discharge, channel: str, text: str, category: str, ward_id: int | None,
             urgent: bool, now: datetime, responsible: User | None = None) -> RectificationItem:
    """A complaint from any channel: the patient's words as an opinion (they count in the
    monthly summary) and an item on the ledger with its deadline and responsible person."""
    if user.role_enum not in INTAKE_ROLES or discharge.hospital_id != user.hospital_id:
        raise ComplaintError(_l("Only QA and the follow-up centre of this hospital register complaints."))
    if channel not in CHANNELS:
        raise ComplaintError(_l("Choose the channel the complaint came in by."))
    if not (text or "").strip():
        raise ComplaintError(_l("Write down what the patient said."))
    category = Category(category).value
    ward_id = ward_id or departments.suggest_department(discharge.hospital_id, category, discharge.ward_id)
    if db.session.scalar(select(Ward.id).where(Ward.id == ward_id, Ward.hospital_id == discharge.hospital_id)) is None:
        raise ComplaintError(_l("Choose a department of this hospital."))
    opinion = Opinion(hospital_id=discharge.hospital_id, discharge_id=discharge.id, source=channel,
                      text=text, sentiment=Sentiment.COMPLAINT, category=category, ward_id=ward_id,
                      original_sentiment=Sentiment.COMPLAINT, original_category=category,
                      original_ward_id=ward_id, recorded_by_id=user.id, recorded_at=now)
    db.session.add(opinion)
    db.session.flush()
    due = local_date(now) + timedelta(days=departments.due_days(discharge.hospital_id, category, urgent))
    item = ledger.open_item_from_opinion(opinion, user=user, now=now, due=due, source="intake")
    item.case = ItemCase(item_id=item.id, discharge_id=discharge.id, channel=channel, category=category,
                         urgent=bool(urgent))
    db.session.flush()
    responsible = responsible or sole_head(item)
    if responsible is not None:
        set_responsible(item, responsible, user=user, now=now)
    audit.record("complaint.register", user=user, object_type="rectification_item", object_id=item.id, now=now,
                 detail={"channel": channel, "urgent": bool(urgent)})
    return item


def register_from_form(user: User, form, *, now: datetime) -> RectificationItem:
    """The intake form as posted: the stay by 住院号 in the user's scope, then register()."""
    stay = find_stay(user, form.get("inpatient_no", ""))
    if stay is None:
        raise ComplaintError(_l("No stay with this 住院号 in your hospital."))
    ward = (form.get("ward_id") or "").strip()
    return register(user, discharge=stay, channel=form.get("channel", ""), text=form.get("text", ""),
                    category=form.get("category", ""), ward_id=int(ward) if ward.isdigit() and len(ward) < 9 else None,
                    urgent=form.get("urgent") == "1", now=now)


def responsible_candidates(item: RectificationItem) -> list[User]:
    """Who may be named responsible: the department's heads, else the hospital's QA."""
    heads = [u for u in db.session.scalars(select(User).where(
        User.hospital_id == item.hospital_id, User.active.is_(True),
        User.role.in_([Role.DEPT_RESPONDER.value, Role.QA.value])).order_by(User.display_name))
        if u.role_enum == Role.QA or item.ward_id in u.ward_ids]
    return heads


def sole_head(item: RectificationItem) -> User | None:
    """The department's head when it has exactly one: named responsible without asking."""
    heads = [u for u in responsible_candidates(item) if u.role_enum == Role.DEPT_RESPONDER]
    return heads[0] if len(heads) == 1 else None


def set_responsible(item: RectificationItem, person: User, *, user, now: datetime) -> None:
    if person.id not in {u.id for u in responsible_candidates(item)}:
        raise ComplaintError(_l("Name a head of the department or QA of this hospital."))
    case_of(item).responsible_id = person.id
    ledger.add_event(item, user=user, action="responsible", now=now, data={"user_id": person.id})
    audit.record("ledger.responsible", user=user, object_type="rectification_item", object_id=item.id, now=now)


def add_evidence_text(item: RectificationItem, text: str, *, user, now: datetime) -> None:
    if item.status == ItemStatus.CLOSED:
        raise ComplaintError(_l("This item is closed."))
    if not (text or "").strip():
        raise ComplaintError(_l("Write the evidence."))
    case = case_of(item)
    case.evidence_text = ((case.evidence_text + "\n\n") if case.evidence_text else "") + text.strip()
    ledger.add_event(item, user=user, action="evidence", now=now, note=text.strip())
    audit.record("ledger.evidence", user=user, object_type="rectification_item", object_id=item.id, now=now)


def store_evidence_file(item: RectificationItem, stream: BinaryIO, filename: str, *, root: Path, max_bytes: int,
                        user, now: datetime) -> ItemEvidence:
    """Keep an uploaded file (PDF, PNG or JPEG, at most max_bytes) under a random name in `root`."""
    if item.status == ItemStatus.CLOSED:
        raise ComplaintError(_l("This item is closed."))
    data = stream.read(max_bytes + 1)
    if not data:
        raise ComplaintError(_l("The file is empty."))
    if len(data) > max_bytes:
        raise ComplaintError(_l("The file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
    kind = next((v for magic, v in EVIDENCE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ComplaintError(_l("Only PDF, PNG and JPEG files are accepted."))
    key = secrets.token_hex(16)
    root.mkdir(parents=True, exist_ok=True)
    # Whole or not at all under its key: written aside, synced, then renamed. If the request then
    # rolls back, the file is left with no row naming it, for sweep_orphan_files.
    partial = root / (key + PARTIAL)
    with open(partial, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, root / key)
    ev = ItemEvidence(item_id=item.id, filename=(Path(filename or "evidence").name or "evidence")[:200],
                      content_type=kind[0], size=len(data), storage_key=key,
                      sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=user.id, uploaded_at=now)
    db.session.add(ev)
    db.session.flush()
    ledger.add_event(item, user=user, action="evidence", now=now, data={"file_id": ev.id, "sha256": ev.sha256})
    audit.record("ledger.evidence_file", user=user, object_type="rectification_item", object_id=item.id, now=now,
                 detail={"file_id": ev.id, "size": ev.size})
    return ev


def evidence_path(ev: ItemEvidence, root: Path) -> Path:
    return root / ev.storage_key


def sweep_orphan_files(root: Path, now: datetime, min_age: timedelta = ORPHAN_AGE) -> list[str]:
    """Remove the files under `root` that no evidence row names (a request rolled back after its
    file was written, a write cut short, an item deleted) once they are older than `min_age`, so
    an upload whose transaction is still open is never touched. Returns the names removed."""
    if not root.is_dir():
        return []
    cutoff = (now - min_age).timestamp()
    old = {p.name: p for p in root.iterdir() if p.is_file() and p.stat().st_mtime < cutoff}
    names = list(old)
    for i in range(0, len(names), 1000):
        named = select(ItemEvidence.storage_key).where(ItemEvidence.storage_key.in_(names[i:i + 1000]))
        for key in db.session.scalars(named):
            old.pop(key, None)
    for p in old.values():
        p.unlink(missing_ok=True)
    if old:
        log.info("evidence files with no row removed: %d", len(old))
    return sorted(old)


def reply_to_patient(item: RectificationItem, *, text: str, satisfaction: str, user, now: datetime) -> None:
    """回复患者: who told the patient what, when, and how satisfied the patient was."""
    if item.status == ItemStatus.CLOSED:
        raise ComplaintError(_l("This item is closed."))
    if not (text or "").strip():
        raise ComplaintError(_l("Write what the patient was told."))
    if satisfaction not in REPLY_SATISFACTION:
        raise ComplaintError(_l("Record the patient's satisfaction with the outcome."))
    case = case_of(item)
    case.reply_by_id, case.reply_at, case.reply_text, case.reply_satisfaction = user.id, now, text.strip(), satisfaction
    ledger.add_event(item, user=user, action="replied", now=now, note=text.strip(), data={"satisfaction": satisfaction})
    audit.record("ledger.reply", user=user, object_type="rectification_item", object_id=item.id, now=now)


def open_for_poor_rating(record: HospitalFollowup, *, user, now: datetime) -> RectificationItem | None:
    """A hospital-level rating of 1–2 in any dimension opens an item at once (one per record),
    for the department of the worst dimension's category, due by that category's deadline."""
    poor = {d: getattr(record, f"sat_{d}") for d in RATING_CATEGORIES}
    poor = {d: v for d, v in poor.items() if v is not None and v <= POOR_RATING}
    if not poor:
        return None
    task = record.task
    worst = min(poor, key=lambda d: (poor[d], list(RATING_CATEGORIES).index(d)))
    category = RATING_CATEGORIES[worst].value
    ward_id = departments.suggest_department(task.hospital_id, category, task.ward_id)
    item = RectificationItem(
        hospital_id=task.hospital_id, ward_id=ward_id, source="rating", status=ItemStatus.OPEN,
        problem=stored_text(_l("Poor rating on a hospital-level call: %(what)s", what="; ".join(
            f"{stored_text(SATISFACTION_LABELS[d])} {v}/5" for d, v in poor.items()))),
        due_date=local_date(now) + timedelta(days=departments.due_days(task.hospital_id, category)),
        created_by_id=getattr(user, "id", None), created_at=now)
    db.session.add(item)
    db.session.flush()
    item.case = ItemCase(item_id=item.id, discharge_id=task.discharge_id, channel="call", category=category)
    ledger.add_event(item, user=user, action="created", now=now, data={"ratings": poor})
    head = sole_head(item)
    if head is not None:
        item.case.responsible_id = head.id
        ledger.add_event(item, user=user, action="responsible", now=now, data={"user_id": head.id})
    audit.record("ledger.create", user=user, object_type="rectification_item", object_id=item.id, now=now,
                 detail={"source": "rating"})
    return item


# --- page data ----------------------------------------------------------------------------------

def intake_page(user: User, inpatient_no: str) -> dict:
    """The intake form: the stay found by 住院号 (masked for the viewer's role), the departments
    (clinical and functional), categories with the department each suggests, the channels."""
    from ..core.labels import CATEGORY_LABELS, CHANNEL_LABELS
    from ..schemas.discharge import dump_discharge
    stay = find_stay(user, inpatient_no)
    if stay is not None:
        audit.record("discharge.view", user=user, object_type="discharge", object_id=stay.id)
    return {"inpatient_no": (inpatient_no or "").strip(), "stay": dump_discharge(stay, user) if stay else None,
            "wards": departments.departments(user.hospital_id), "channels": CHANNELS, "channel_labels": CHANNEL_LABELS,
            "categories": [c.value for c in Category], "category_labels": CATEGORY_LABELS,
            "suggested": departments.suggestions(user.hospital_id)}


def case_view(item: RectificationItem, user: User) -> dict:
    """What the ledger item page shows of the intake: channel, patient's stay, responsible person,
    evidence, the reply, and what this user may do with it."""
    from ..core.labels import CHANNEL_LABELS, REPLY_SATISFACTION_LABELS, SOURCE_LABELS
    case = item.case
    names = {}
    if case is not None:
        ids = {case.responsible_id, case.reply_by_id} - {None}
        names = {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    role = user.role_enum
    return {"case": case, "case_names": names, "evidence_files": item.evidence,
            "candidates": responsible_candidates(item) if role == Role.QA else [],
            "can_add_evidence": role in (Role.QA, Role.DEPT_RESPONDER) and item.status != ItemStatus.CLOSED,
            "can_reply": role == Role.QA and item.status != ItemStatus.CLOSED,
            "can_close": ledger.may_close(item, user), "closing_problems": ledger.closing_problems(item),
            "channel_labels": CHANNEL_LABELS, "reply_labels": REPLY_SATISFACTION_LABELS, "source_labels": SOURCE_LABELS,
            "reply_choices": REPLY_SATISFACTION}
