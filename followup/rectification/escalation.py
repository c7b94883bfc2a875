"""Escalation of overdue and at-risk work, step by step: caller → head nurse → department
director → QA/medical affairs, each step notified in the service and audited.

Subjects and the moment each step is reached (hours after the subject's deadline; per hospital
in EscalationPolicy.thresholds, DEFAULT_THRESHOLDS otherwise; None skips the step):
- task: an open follow-up task, from its due_at (negative hours = before the deadline: at risk);
- item: a rectification item not closed, from the end of its due day (local calendar);
- red_flag: an unacknowledged red flag, from the moment it was raised.
Who is told at each step:
1 caller: the task's assigned or claiming caller, else the queue's callers (the ward's nurses,
  or the centre's staff for hospital-level tasks); a red flag's raising nurse; items have none;
2 head nurse: head nurses of the ward (is_head_nurse), the centre lead for hospital-level tasks;
3 department director: DEPT_RESPONDER accounts scoped to the ward (user_ward);
4 QA: the hospital's QA accounts.
Escalation never moves a deadline: it only reads due_at/due_date. Each (subject, step) is an
EscalationStep row, so a step is taken once however often this runs (idempotent). Notifications
are grouped per recipient, ward and step (one line says "5 tasks", not five lines)."""
from collections import defaultdict
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, select

from ..core import audit
from ..core.clock import local_date
from ..extensions import db
from ..models import FollowupTask, Hospital, Level, Role, TaskStatus, User, Ward
from ..models.alert import RedFlagAlert
from ..models.notification import EscalationPolicy, EscalationStep
from ..models.opinion import ItemStatus, RectificationItem
from ..models.user import user_wards
from ..notifications import TEXTS, notify

SUBJECTS = ("task", "item", "red_flag")
STEPS = (1, 2, 3, 4)
STEP_ROLES = {1: "caller", 2: "head_nurse", 3: "director", 4: "qa"}
DEFAULT_THRESHOLDS = {"task": [-24, 0, 24, 72], "item": [None, 0, 48, 120], "red_flag": [2, 4, 24, 48]}
BATCH = 5000  # subjects per (hospital, subject, step) and run; the next run takes the rest


def thresholds(hospital_id: int) -> dict:
    row = db.session.get(EscalationPolicy, hospital_id)
    out = {k: list(v) for k, v in DEFAULT_THRESHOLDS.items()}
    for k, v in ((row.thresholds or {}) if row else {}).items():
        if k in out and isinstance(v, list) and len(v) == len(STEPS):
            out[k] = v
    return out


def set_thresholds(hospital_id: int, values: dict, *, user, now: datetime) -> EscalationPolicy:
    """Save a hospital's thresholds ({subject: [hours or None] × 4}); flushes and audits."""
    clean = {}
    for subject in SUBJECTS:
        v = values.get(subject, DEFAULT_THRESHOLDS[subject])
        if len(v) != len(STEPS) or any(h is not None and not -240 <= h <= 24 * 90 for h in v):
            raise ValueError(f"{subject}: four steps of hours between -240 and 2160, or empty")
        clean[subject] = [None if h is None else int(h) for h in v]
    row = db.session.get(EscalationPolicy, hospital_id) or EscalationPolicy(hospital_id=hospital_id)
    row.thresholds, row.updated_by_id, row.updated_at = clean, getattr(user, "id", None), now
    db.session.add(row)
    db.session.flush()
    audit.record("escalation.policy", user=user, object_type="hospital", object_id=hospital_id,
                 detail=clean, now=now)
    return row


def _not_taken(subject: str, id_col, step: int):
    return ~exists().where(EscalationStep.subject == subject, EscalationStep.subject_id == id_col,
                           EscalationStep.step == step)


def _due(subject: str, hospital_id: int, step: int, hours: int, now: datetime) -> list[tuple]:
    """(subject id, ward id, level, caller ids) of the subjects that reached `step` now."""
    at = now - timedelta(hours=hours)
    if subject == "task":
        T = FollowupTask
        q = (select(T.id, T.ward_id, T.level, T.assigned_to_id, T.claimed_by_id)
             .where(T.hospital_id == hospital_id, T.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
                    T.due_at <= at, _not_taken(subject, T.id, step)).order_by(T.due_at, T.id))
        return [(i, w, lvl, [u for u in (a, c) if u]) for i, w, lvl, a, c in db.session.execute(q.limit(BATCH))]
    if subject == "item":
        RI = RectificationItem  # overdue from the end of the due day: due_date < local date of `at`
        q = (select(RI.id, RI.ward_id).where(RI.hospital_id == hospital_id, RI.status != ItemStatus.CLOSED,
                                              RI.due_date < local_date(at), _not_taken(subject, RI.id, step))
             .order_by(RI.due_date, RI.id))
        return [(i, w, None, []) for i, w in db.session.execute(q.limit(BATCH))]
    A = RedFlagAlert
    q = (select(A.id, A.ward_id, A.raised_by_id).where(
        A.hospital_id == hospital_id, A.acknowledged_at.is_(None), A.raised_at <= at,
        _not_taken(subject, A.id, step)).order_by(A.raised_at, A.id))
    return [(i, w, Level.WARD.value, [r]) for i, w, r in db.session.execute(q.limit(BATCH))]


class _Staff:
    """The hospital's active accounts, by what escalation asks of them."""

    def __init__(self, hospital_id: int):
        users = db.session.scalars(select(User).where(User.hospital_id == hospital_id, User.active)).all()
        links = db.session.execute(select(user_wards.c.user_id, user_wards.c.ward_id)
                                   .where(user_wards.c.user_id.in_([u.id for u in users]))).all()
        wards_of = defaultdict(set)
        for uid, wid in links:
            wards_of[uid].add(wid)
        self.nurses, self.heads, self.directors = defaultdict(list), defaultdict(list), defaultdict(list)
        self.centre, self.centre_heads, self.qa = [], [], []
        for u in users:
            role = u.role_enum
            for wid in wards_of[u.id]:
                if role == Role.NURSE:
                    self.nurses[wid].append(u.id)
                    if u.is_head_nurse:
                        self.heads[wid].append(u.id)
                elif role == Role.DEPT_RESPONDER:
                    self.directors[wid].append(u.id)
            if role == Role.CENTRE_STAFF:
                self.centre.append(u.id)
                if u.is_head_nurse:
                    self.centre_heads.append(u.id)
            elif role == Role.QA:
                self.qa.append(u.id)
        self.active = {u.id for u in users}

    def recipients(self, step: int, ward_id, level, callers: list[int]) -> tuple[int, ...]:
        centre = level == Level.HOSPITAL.value
        if step == 1:
            own = [c for c in callers if c in self.active]
            if own:
                return tuple(own)
            if level is None:  # a ledger item has no caller
                return ()
            return tuple(self.centre if centre else self.nurses.get(ward_id, []))
        if step == 2:
            return tuple(self.centre_heads if centre else self.heads.get(ward_id, []))
        if step == 3:
            return tuple(self.directors.get(ward_id, []))
        return tuple(self.qa)


# What the notification says and where it leads, per subject and step (local paths only).
LINKS = {("task", 1): "/calls/", ("task", 2): "/calls/board/", ("item", 3): "/ledger/?overdue=1",
         ("item", 4): "/ledger/?overdue=1", ("red_flag", 1): "/calls/", ("red_flag", 2): "/calls/board/"}


def _text(subject: str, step: int, ward: str, n: int) -> str:
    who = {1: _("to you as the caller"), 2: _("to you as head nurse"),
           3: _("to you as department director"), 4: _("to you as QA / medical affairs")}[step]
    if subject == "task":
        what = _("%(ward)s: %(n)s follow-up tasks are near or past their deadline", ward=ward, n=n)
    elif subject == "item":
        what = _("%(ward)s: %(n)s rectification items are past their deadline", ward=ward, n=n)
    else:
        what = _("%(ward)s: %(n)s red flags are not acknowledged", ward=ward, n=n)
    return _("%(what)s (escalated %(who)s, step %(step)s of 4).", what=what, who=who, step=step)


TEXTS.update({f"escalation.{subject}": _text for subject in SUBJECTS})


def escalate_hospital(hospital_id: int, now: datetime) -> dict:
    """Take every step the hospital's subjects have reached by `now`. Flushes, never commits.
    Returns {subject: {step: subjects escalated}}."""
    limits = thresholds(hospital_id)
    staff = _Staff(hospital_id)
    wards = dict(db.session.execute(select(Ward.id, Ward.name).where(Ward.hospital_id == hospital_id)).all())
    done: dict = {s: {} for s in SUBJECTS}
    for subject in SUBJECTS:
        for step, hours in zip(STEPS, limits[subject]):
            if hours is None:
                continue
            due = _due(subject, hospital_id, step, hours, now)
            if not due:
                continue
            groups = defaultdict(list)  # (recipients, ward) → subject ids
            for sid, ward_id, level, callers in due:
                groups[(staff.recipients(step, ward_id, level, callers), ward_id)].append(sid)
            for (users, ward_id), ids in groups.items():
                db.session.add_all([EscalationStep(hospital_id=hospital_id, subject=subject, subject_id=i,
                                                   step=step, at=now, notified=list(users)) for i in ids])
                if users:
                    said = {"subject": subject, "step": step, "ward": wards.get(ward_id, ""), "n": len(ids)}
                    notify(db.session, users, f"escalation.{subject}", _text(**said), LINKS.get((subject, step), ""),
                           now, params=said)
                audit.record("escalation.step", object_type=subject, object_id=ids[0], now=now,
                             detail={"hospital_id": hospital_id, "step": step, "role": STEP_ROLES[step],
                                     "subjects": ids[:200], "count": len(ids), "notified": list(users)})
            db.session.flush()
            done[subject][step] = len(due)
    return done


def escalate(now: datetime) -> dict:
    """Every hospital (the job commits per hospital through escalate_hospital)."""
    return {hid: escalate_hospital(hid, now) for hid in db.session.scalars(select(Hospital.id).order_by(Hospital.id))}


def settings_page(hospital_id: int) -> dict:
    """The hospital's thresholds as the settings form shows them."""
    return {"thresholds": thresholds(hospital_id), "defaults": DEFAULT_THRESHOLDS, "steps": STEPS,
            "subjects": SUBJECTS}


def thresholds_from_form(data: dict) -> dict:
    return {s: [data.get(f"{s}_{i}") for i in STEPS] for s in SUBJECTS}
