"""The call queue: who calls whom next. Claiming is atomic (PostgreSQL: FOR UPDATE SKIP LOCKED;
SQLite: a conditional UPDATE whose row count says who won). Rules come from policy.py; scope
from access.task_filter. Functions take `now`, flush, never commit."""
from dataclasses import dataclass
from datetime import datetime, timedelta


from sqlalchemy import and_, bindparam, case, func, or_, select, true, union_all, update
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..core import audit
from ..core.access import CALLER_ROLES, WITH_PATIENT, built_for, find_task, task_filter
from ..core.clock import local, local_midnight
from ..extensions import db
from ..models import Discharge, FollowupTask, Patient, TaskStatus, User
from ..models.task import OPEN_STATUSES
from ..models.call import CallAttempt, Outcome
from ..models.outcome import MarkKind
from ..models.types import UTCDateTime
from ..patients import outcomes
from . import Conflict, Invalid, NotAllowed, NotFound, policy

_CANDIDATES = 8  # SQLite: ids tried per round before re-reading the queue


def get_task(user: User, task_id: int) -> FollowupTask:
    task = find_task(user, task_id, with_patient=True)
    if task is None:
        raise NotFound("task not found")
    return task


def _claim_values(user: User, now: datetime) -> dict:
    return dict(status=TaskStatus.CLAIMED, claimed_by_id=user.id, claimed_at=now,
                version=FollowupTask.version + 1)


def _claimable():
    # A task waiting for a phone or a 离院方式 (FollowupTask.needs_data) is due, never callable.
    return (FollowupTask.status == TaskStatus.OPEN) & FollowupTask.needs_data.is_(None)


def _abandoned(now: datetime, pol: policy.Policy):
    """A claim past the claim timeout: its caller has gone, anyone in the queue may take it (the
    deadline watch also hands such claims back, once a minute)."""
    return ((FollowupTask.status == TaskStatus.CLAIMED) & FollowupTask.needs_data.is_(None)
            & (FollowupTask.claimed_at < policy.claim_cutoff(now, pol)))


# Another task of the same patient and its stay, in the same statement as the task itself.
# Made once: an alias proxies every column, and building two per query costs more than the query.
_OTHER, _STAY = aliased(FollowupTask, name="other_task"), aliased(Discharge, name="other_stay")


def _live_claims(user: User, now: datetime, pol: policy.Policy):
    """(task, its discharge) aliases and the clause for other callers' live claims."""
    other, stay = _OTHER, _STAY
    live = and_(other.status == TaskStatus.CLAIMED, other.claimed_by_id != user.id,
                other.claimed_at >= policy.claim_cutoff(now, pol))
    return other, stay, live


def _held_patients(user: User, now: datetime, pol: policy.Policy):
    """SQL: the patients another caller is on right now (one per live claim: a few rows, read
    through the claimed-at index)."""
    other, stay, live = _live_claims(user, now, pol)
    return select(stay.patient_id).join(other, other.discharge_id == stay.id).where(live)


def _someone_else_on(user: User, patient_id, now: datetime, pol: policy.Policy, but: int):
    """SQL: another caller's live claim on a task of this patient (any level, stay or plan)."""
    other, stay, live = _live_claims(user, now, pol)
    return (select(other.id).join(stay, stay.id == other.discharge_id)
            .where(live, stay.patient_id == patient_id, other.id != but))


def _queue_tiers(user: User, now: datetime, pol: policy.Policy, in_hours: bool | None = None) -> tuple:
    """WHERE clauses for the queue as next call takes from it: first what must not wait (tasks
    assigned to this caller, patients who asked to be called about now: few rows, found through
    their own indexes); then, by deadline, open tasks and abandoned claims (a claim past the
    timeout is back in the queue at its deadline's place, as if released)."""
    common = (task_filter(user), policy.ready_clause(now, pol, in_hours), policy.hold_clause(user, now, pol))
    first = and_(_claimable(), *common,
                 or_(FollowupTask.assigned_to_id == user.id, policy.callback_due_clause(now, pol)))
    return first, and_(_abandoned(now, pol), *common), and_(_claimable(), *common)


def _candidates(user: User, where, now: datetime, pol: policy.Policy, skipped: list[int]):
    """(task id, patient id) in deadline order, patients another caller is on left out."""
    q = (select(FollowupTask.id, Discharge.patient_id).join(Discharge, Discharge.id == FollowupTask.discharge_id)
         .where(where, Discharge.patient_id.not_in(_held_patients(user, now, pol)))
         .order_by(FollowupTask.due_at, FollowupTask.id))
    return q.where(FollowupTask.id.not_in(skipped)) if isinstance(skipped, BindParameter) or skipped else q


def _any_abandoned(user: User, now: datetime, pol: policy.Policy) -> bool:
    """Is there an abandoned claim in the user's queue (the claimed-at index: usually none)?
    PostgreSQL only (its statement is built once: _built)."""
    return db.session.scalar(*_built("abandoned", user, now, pol, lambda caller, at, _h: select(FollowupTask.id).where(
        task_filter(caller), _abandoned(at, pol)).limit(1))) is not None


def _locked_pick(user: User, now: datetime, pol: policy.Policy, skipped: list[int], abandoned_too: bool,
                 in_hours: bool | None = None):
    """PostgreSQL: one statement that takes the queue's first task, its row and its patient's
    row locked (rows other callers are taking right now are skipped), with the discharge,
    patient and ward loaded. Each part is read in index order and stops at its first row; COALESCE
    stops at the first part that answers. An abandoned claim (rare: the deadline watch hands them
    back every minute) is taken when it comes before the first open task; that part doubles the
    planning time, so it is in the statement only when the queue has one."""
    first, abandoned, open_ = _queue_tiers(user, now, pol, in_hours)

    def pick(where):
        return (_candidates(user, where, now, pol, skipped).with_only_columns(FollowupTask.id)
                .join(Patient, Patient.id == Discharge.patient_id).limit(1)
                .with_for_update(key_share=True, skip_locked=True, of=[FollowupTask, Patient])
                .correlate(None).scalar_subquery())
    head = _candidates(user, open_, now, pol, skipped).limit(1).correlate(None)
    head_due = head.with_only_columns(FollowupTask.due_at).scalar_subquery()
    head_id = head.with_only_columns(FollowupTask.id).scalar_subquery()
    before_head = or_(head_id.is_(None), FollowupTask.due_at < head_due,
                      and_(FollowupTask.due_at == head_due, FollowupTask.id < head_id))
    parts = [pick(first), pick(and_(abandoned, before_head)), pick(open_)] if abandoned_too else \
        [pick(first), pick(open_)]
    return (select(FollowupTask).where(FollowupTask.id == func.coalesce(*parts))
            .options(*WITH_PATIENT).execution_options(populate_existing=True))


def _built(kind: str, user: User, now: datetime, pol: policy.Policy, build, **shape):
    """(the statement `build(caller, now, in_hours)` makes for this shape of caller and moment,
    built once (access.built_for), with the caller and the time as bound parameters; its
    parameters for this call). PostgreSQL's pick statements: building them anew for each next
    call was ~30 % of the request's CPU (bench/caller_cost.py --profile next)."""
    in_hours = policy.in_calling_hours(now, pol)
    stmt, params = built_for(user, (kind, in_hours, pol, *sorted(shape.items())),
                             lambda caller: build(caller, bindparam("now", type_=UTCDateTime), in_hours))
    params["now"] = now
    return stmt, params


def _pick(user: User, now: datetime, pol: policy.Policy, skipped: list[int], abandoned_too: bool):
    """(_locked_pick's statement for this caller's shape, its parameters)."""
    stmt, params = _built("pick", user, now, pol, lambda caller, at, in_hours: _locked_pick(
        caller, at, pol, bindparam("skipped", expanding=True) if skipped else [], abandoned_too, in_hours),
        skipped=bool(skipped), abandoned_too=abandoned_too)
    if skipped:
        params["skipped"] = list(skipped)
    return stmt, params


def _claim(user: User, task_id: int, patient_id: int, now: datetime, pol: policy.Policy) -> int | None:
    """Claim a task still open (or abandoned) whose patient nobody else is on: one conditional
    UPDATE. Returns the task's new version, or None. On PostgreSQL the caller holds the patient's
    row lock (every claimer takes it before this check), and this statement's snapshot is taken
    after it: a colleague who claimed the patient's other task just before is seen. SQLite has
    one writer at a time, so the statement is atomic there anyway."""
    def build(caller, at, task, patient):
        return (update(FollowupTask)
                .where(FollowupTask.id == task, or_(_claimable(), _abandoned(at, pol)),
                       ~_someone_else_on(caller, patient, at, pol, but=task).exists())
                .values(**_claim_values(caller, at)).returning(FollowupTask.version)
                .execution_options(synchronize_session=False))
    if db.session.get_bind().dialect.name != "postgresql":  # SQLite: no interval arithmetic in SQL
        return db.session.execute(build(user, now, task_id, patient_id)).scalar()
    stmt, params = _built("claim", user, now, pol,
                          lambda caller, at, _h: build(caller, at, bindparam("tid"), bindparam("pid")))
    return db.session.execute(stmt, {**params, "tid": task_id, "pid": patient_id}).scalar()


def _mark_claimed(task: FollowupTask, user: User, now: datetime, version: int) -> FollowupTask:
    """The loaded task as the claim UPDATE left it (no flush, no reload)."""
    for key, value in (("status", TaskStatus.CLAIMED), ("claimed_by_id", user.id), ("claimed_at", now),
                       ("version", version)):
        set_committed_value(task, key, value)
    return task


def next_task(user: User, now: datetime, pol: policy.Policy | None = None) -> FollowupTask | None:
    """Claim the most urgent callable task in the user's queue: tasks assigned to this caller
    and due callbacks first, then abandoned claims, then the earliest deadline. Retry times are
    honoured, and calling hours (a due callback wins over them). A patient another caller is on
    (the other level, another stay) is skipped. None when nothing is callable now."""
    if user.role_enum not in CALLER_ROLES:
        raise NotAllowed("only callers work a queue")
    pol = pol or policy.default()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    skipped: list[int] = []
    abandoned_too = postgres and _any_abandoned(user, now, pol)
    for _ in range(5):  # a round is lost only when a colleague took the patient meanwhile
        if postgres:
            task = db.session.scalar(*_pick(user, now, pol, skipped, abandoned_too))
            if task is None:
                return None
            version = _claim(user, task.id, task.discharge.patient_id, now, pol)
            if version is not None:
                return _mark_claimed(task, user, now, version)
            skipped.append(task.id)
            continue
        # SQLite: whoever's conditional UPDATE matches the row wins.
        first, abandoned, open_ = _queue_tiers(user, now, pol)
        rows = next((r for where in (first, or_(abandoned, open_))
                     if (r := db.session.execute(_candidates(user, where, now, pol, skipped).limit(_CANDIDATES)).all())),
                    [])
        if not rows:
            return None
        for task_id, patient_id in rows:
            if _claim(user, task_id, patient_id, now, pol) is not None:
                return db.session.get(FollowupTask, task_id, populate_existing=True, options=WITH_PATIENT)
        skipped.extend(task_id for task_id, _ in rows)
    return None


def claim_task(user: User, task_id: int, now: datetime, pol: policy.Policy | None = None, *,
               inbound: bool = False) -> FollowupTask:
    """Claim one named task (picked from the list). It must be callable now, unless the patient
    is the one calling (inbound: calling hours and retry spacing do not apply to answering the
    phone); a claim the user already holds is returned as it is."""
    if user.role_enum not in CALLER_ROLES:
        raise NotAllowed("only callers claim tasks")
    pol = pol or policy.default()
    task = get_task(user, task_id)
    if task.status == TaskStatus.CLAIMED and task.claimed_by_id == user.id:
        return task
    if not task.is_open:
        raise Conflict(f"task is {task.status}", status_now=task.status)
    if task.needs_data:
        raise Conflict("task needs data before it can be called", status_now=task.status)
    when = policy.callable_at(task, now, pol)
    if when > now and not inbound:
        reason = "outside calling hours" if not policy.in_calling_hours(now, pol) else "task is not callable yet"
        raise Conflict(reason, callable_at=when.isoformat())
    expired = (FollowupTask.status == TaskStatus.CLAIMED) & (FollowupTask.claimed_at < policy.claim_cutoff(now, pol))
    won = db.session.execute(update(FollowupTask)
                             .where(FollowupTask.id == task.id, or_(_claimable(), expired))
                             .values(**_claim_values(user, now))
                             .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise Conflict("task is being called by someone else", **_holder_of(task.id, pol))
    task = db.session.get(FollowupTask, task.id, populate_existing=True, options=WITH_PATIENT)
    holder = _patient_holder(user, task, now, pol)
    if holder is not None:
        task.status, task.claimed_by_id, task.claimed_at = TaskStatus.OPEN, None, None  # hand it back
        db.session.flush()
        raise Conflict("patient is being called by someone else", **_holder_info(holder, pol))
    if inbound and when > now:  # answering the patient outside hours or spacing: on the record
        audit.record("task.claim_inbound", user=user, object_type="task", object_id=task.id, now=now)
    return task


def _patient_holder(user: User, task: FollowupTask, now: datetime, pol: policy.Policy) -> FollowupTask | None:
    """Another caller's live claim on a task of the same patient, if any. The patient's row is
    locked first (PostgreSQL), so of two callers claiming the two levels at once, the second
    waits for the first and then sees its claim; SQLite has one writer at a time anyway."""
    patient_id = task.discharge.patient_id
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update(key_share=True))
    return db.session.scalar(
        select(FollowupTask).join(Discharge, Discharge.id == FollowupTask.discharge_id)
        .where(Discharge.patient_id == patient_id, FollowupTask.id != task.id,
               FollowupTask.status == TaskStatus.CLAIMED, FollowupTask.claimed_by_id != user.id,
               FollowupTask.claimed_at >= policy.claim_cutoff(now, pol))
        .execution_options(populate_existing=True).limit(1))


def _holder_info(claimed: FollowupTask, pol: policy.Policy) -> dict:
    holder = db.session.get(User, claimed.claimed_by_id)
    return {"held_by": holder.display_name if holder else "",
            "held_until": (claimed.claimed_at + pol.claim_timeout).isoformat()}


def _holder_of(task_id: int, pol: policy.Policy) -> dict:
    claimed = db.session.get(FollowupTask, task_id, populate_existing=True)
    return _holder_info(claimed, pol) if claimed is not None and claimed.claimed_by_id else {}


def require_claim(user: User, task: FollowupTask) -> None:
    if task.status != TaskStatus.CLAIMED or task.claimed_by_id != user.id:
        raise Conflict("task is not claimed by you")


def release_task(user: User, task: FollowupTask, now: datetime) -> FollowupTask:
    """Hand a claimed task back to the queue untouched."""
    require_claim(user, task)
    task.status, task.claimed_by_id, task.claimed_at = TaskStatus.OPEN, None, None
    db.session.flush()
    return task


def unlocked(*where):
    """SQL: ids of the tasks matching `where` that nobody holds locked right now, locked for
    this transaction (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite has one writer at a time and
    renders no locking clause). For bulk updates that must never wait for a caller."""
    return (select(FollowupTask.id).where(*where).order_by(FollowupTask.id)
            .with_for_update(skip_locked=True).scalar_subquery())


def release_expired_claims(now: datetime, scope=None, pol: policy.Policy | None = None) -> int:
    """Claims older than the claim timeout return to the queue. Returns how many."""
    expired = (FollowupTask.status == TaskStatus.CLAIMED, FollowupTask.claimed_at < policy.claim_cutoff(now, pol))
    # Only rows nobody holds right now (a caller saving the form at the last moment): never wait
    # for a caller, so never deadlock with one (calls/watch.py).
    q = (update(FollowupTask)
         .where(FollowupTask.id.in_(unlocked(*expired, *(() if scope is None else (scope,)))), *expired)
         .values(status=TaskStatus.OPEN, claimed_by_id=None, claimed_at=None,
                 version=FollowupTask.version + 1)
         .execution_options(synchronize_session=False))
    return db.session.execute(q).rowcount


def assign_task(head: User, task: FollowupTask, caller: User | None, now: datetime) -> FollowupTask:
    """A head nurse (or centre lead) assigns a task in her queue to a named caller who works the
    same queue; None unassigns. A claim in progress is left to finish."""
    if not head.is_head_nurse or head.role_enum not in CALLER_ROLES:
        raise NotAllowed("only a head nurse assigns tasks")
    if not db.session.scalar(select(FollowupTask.id).where(FollowupTask.id == task.id, task_filter(head))):
        raise NotFound("task not found")
    if not task.is_open:
        raise Conflict(f"task is {task.status}", status_now=task.status)
    if task.needs_data:
        raise Conflict("task needs data before it can be called", status_now=task.status)
    if caller is not None:
        visible = db.session.scalar(select(FollowupTask.id).where(FollowupTask.id == task.id, task_filter(caller)))
        if not caller.active or caller.role_enum not in CALLER_ROLES or not visible:
            raise Invalid("caller_id: this caller does not work this task's queue", field="caller_id")
    task.assigned_to_id = caller.id if caller else None
    db.session.flush()
    audit.record("task.assign", user=head, object_type="task", object_id=task.id,
                 detail={"assigned_to": task.assigned_to_id}, now=now)
    return task


def set_head_nurse(user: User, on: bool, now: datetime, by: User | None = None) -> User:
    """Give or take a caller the right to assign tasks of her queue (护士长 / centre lead)."""
    if on and user.role_enum not in CALLER_ROLES:
        raise Invalid("only nurses and follow-up-centre staff can lead a queue", field="username")
    user.is_head_nurse = on
    db.session.flush()
    audit.record("user.head_nurse", user=by, object_type="user", object_id=user.id,
                 detail={"on": on}, now=now)
    return user


@dataclass(frozen=True)
class QueueFilter:
    """What a caller narrows her queue to (issue 15): a ward, a level, a status, overdue only."""
    ward_id: int | None = None
    level: str | None = None
    status: str | None = None      # "open" | "claimed"
    overdue: bool = False

    def clause(self, now: datetime):
        out = []
        if self.ward_id:
            out.append(FollowupTask.ward_id == self.ward_id)
        if self.level:
            out.append(FollowupTask.level == self.level)
        if self.overdue:
            out.append(FollowupTask.due_at <= now)
        return and_(true(), *out)

    def statuses(self) -> tuple:
        return (self.status,) if self.status in (TaskStatus.OPEN, TaskStatus.CLAIMED) else (TaskStatus.OPEN, TaskStatus.CLAIMED)


def queue_counts(user: User, now: datetime, pol: policy.Policy | None = None,
                 flt: QueueFilter = QueueFilter()) -> dict:
    """Counts for the queue header, computed from the tasks (never stored), under the filter."""
    pol = pol or policy.default()
    today = local_midnight(local(now).date())
    tomorrow = local_midnight(local(now).date() + timedelta(days=1))
    open_ = FollowupTask.status.in_(flt.statuses())
    done = (FollowupTask.status == TaskStatus.DONE) & (FollowupTask.completed_at >= today)
    row = db.session.execute(
        select(func.count().filter(open_),
               func.count().filter(open_ & (FollowupTask.due_at > now) & (FollowupTask.due_at <= tomorrow)),
               func.count().filter(open_ & (FollowupTask.due_at > now) & (FollowupTask.due_at <= now + pol.at_risk)),
               func.count().filter(open_ & (FollowupTask.due_at <= now)),
               func.count().filter(done))
        .where(task_filter(user), flt.clause(now), or_(open_, done))
    ).one()
    return dict(zip(("open", "due_today", "at_risk_24h", "overdue", "done_today"), row))


def queue_facets(user: User, now: datetime) -> list[tuple]:
    """(ward_id, level, status, overdue, count) over the user's open and claimed tasks: one
    grouped read from which every filter option's count is summed (they match the list)."""
    overdue = case((FollowupTask.due_at <= now, 1), else_=0)
    return [tuple(r) for r in db.session.execute(
        select(FollowupTask.ward_id, FollowupTask.level, FollowupTask.status, overdue, func.count())
        .where(task_filter(user), FollowupTask.status.in_(OPEN_STATUSES))
        .group_by(FollowupTask.ward_id, FollowupTask.level, FollowupTask.status, overdue))]


def queue_page(user: User, now: datetime, limit: int = 50, offset: int = 0,
               flt: QueueFilter = QueueFilter()) -> list[FollowupTask]:
    """Open and claimed tasks in the user's queue by deadline, discharge and patient loaded."""
    # Each status is read in queue-index order and the two are merged: one IN (open, claimed)
    # would sort the whole queue (tens of thousands of rows) for every page.
    parts = [select(FollowupTask.id, FollowupTask.due_at).where(task_filter(user), FollowupTask.status == status,
                                                                flt.clause(now))
             .order_by(FollowupTask.due_at, FollowupTask.id).limit(offset + limit).subquery()
             for status in flt.statuses()]
    merged = union_all(*(select(p.c.id, p.c.due_at) for p in parts)).subquery()
    ids = select(merged.c.id).order_by(merged.c.due_at, merged.c.id).limit(limit).offset(offset)
    q = (select(FollowupTask).where(FollowupTask.id.in_(ids)).order_by(FollowupTask.due_at, FollowupTask.id)
         .options(selectinload(FollowupTask.discharge).selectinload(Discharge.patient),
                  selectinload(FollowupTask.discharge).selectinload(Discharge.ward)))
    return list(db.session.scalars(q))


def patient_holders(user: User, tasks: list[FollowupTask], now: datetime, pol: policy.Policy) -> dict:
    """patient_id → (caller's name, claim ends) for patients another caller is on right now."""
    patient_ids = {t.discharge.patient_id for t in tasks}
    if not patient_ids:
        return {}
    rows = db.session.execute(
        select(Discharge.patient_id, User.display_name, FollowupTask.claimed_at)
        .join(FollowupTask, FollowupTask.discharge_id == Discharge.id)
        .join(User, User.id == FollowupTask.claimed_by_id)
        .where(Discharge.patient_id.in_(patient_ids), FollowupTask.status == TaskStatus.CLAIMED,
               FollowupTask.claimed_by_id != user.id, FollowupTask.claimed_at >= policy.claim_cutoff(now, pol)))
    return {pid: (name, at + pol.claim_timeout) for pid, name, at in rows}


def phone_numbers(task: FollowupTask) -> list[str]:
    """The patient's numbers in dialling order: the primary one first (number_index 0)."""
    p = task.discharge.patient
    return [n for n in [p.phone, *(p.other_phones or "").split(",")] if n]


def wrong_numbers(attempts: list[CallAttempt]) -> set[int]:
    """Indexes of the patient's numbers found wrong or invalid on earlier dials."""
    return {a.number_index for a in attempts if a.outcome == Outcome.WRONG_NUMBER}


def number_to_dial(task: FollowupTask) -> int | None:
    """The first of the patient's numbers not yet found wrong (None: none left)."""
    wrong = wrong_numbers(attempts_of(task))
    return next((i for i in range(len(phone_numbers(task))) if i not in wrong), None)


def attempts_of(task: FollowupTask) -> list[CallAttempt]:
    return list(db.session.scalars(select(CallAttempt).where(CallAttempt.task_id == task.id)
                                   .order_by(CallAttempt.at, CallAttempt.id)))


def patient_attempt_times(task: FollowupTask) -> list[datetime]:
    """Every dial to this task's patient from any queue (both levels, every stay, any plan)."""
    return [d.at for d in _patient_dials(task)]


def _patient_dials(task: FollowupTask) -> list:
    """(task_id, at, outcome, number_index) of every dial to this task's patient, in time order:
    the task's own history and the patient's pacing from one read."""
    return list(db.session.execute(
        select(CallAttempt.task_id, CallAttempt.at, CallAttempt.outcome, CallAttempt.number_index)
        .join(FollowupTask, FollowupTask.id == CallAttempt.task_id)
        .join(Discharge, Discharge.id == FollowupTask.discharge_id)
        .where(Discharge.patient_id == task.discharge.patient_id)
        .order_by(CallAttempt.at, CallAttempt.id)))


def record_attempt(user: User, task: FollowupTask, outcome: str, now: datetime,
                   callback_at: datetime | None = None, note: str = "",
                   number_index: int = 0, refuse_all: bool = False,
                   pol: policy.Policy | None = None) -> CallAttempt:
    """Record one dial by the claimer and apply the policy: schedule the retry, close, mark
    lost, or (answered) keep the claim for the form. Pacing is per patient: the retry spacing and
    the daily cap count the patient's dials from every queue, and the patient's other open tasks
    wait as long as this one. A death, or a refusal of all follow-up (refuse_all), is a mark on
    the patient that closes all of the person's open tasks (followup/patients/outcomes.py)."""
    pol = pol or policy.default()
    require_claim(user, task)
    if refuse_all and outcome != Outcome.REFUSED:
        raise Invalid("refuse_all: only with the outcome 'refused'", field="refuse_all")
    numbers = len(phone_numbers(task))
    if not 0 <= number_index < max(numbers, 1):
        raise Invalid("number_index: the patient has no such number", field="number_index")
    dials = _patient_dials(task)
    history = [d for d in dials if d.task_id == task.id]
    paced = [d.at for d in dials] + [now]
    wrong = wrong_numbers(history) | ({number_index} if outcome == Outcome.WRONG_NUMBER else set())
    d = policy.decide(outcome, now, [a.at for a in history] + [now], task.due_at,
                      callback_at=callback_at, numbers_left=max(numbers - len(wrong), 0), pol=pol,
                      patient_times=paced)
    attempt = CallAttempt(task=task, caller_id=user.id, at=now, outcome=str(outcome),
                          callback_at=d.callback_at, number_index=number_index, note=note or "")
    db.session.add(attempt)
    task.status, task.next_attempt_at, task.callback_at = d.status, d.next_attempt_at, d.callback_at
    if d.close_reason:
        task.close_reason, task.completed_at = d.close_reason, now
    if not d.keep_claim:
        task.claimed_by_id, task.claimed_at = None, None
    db.session.flush()
    if outcome == Outcome.DECEASED or refuse_all:
        kind = MarkKind.DECEASED if outcome == Outcome.DECEASED else MarkKind.DO_NOT_CALL
        outcomes.record_on_call(user, task, kind, attempt.id, now, note)
    else:
        _pace_other_tasks(task, outcome, paced, now, pol)
    if d.close_reason:
        # A routine dial is its own append-only record (CallAttempt: who, when, outcome); the
        # audit chain, one global lock per entry, gets the decisions that end a task.
        audit.record("task.close", user=user, object_type="task", object_id=task.id,
                     detail={"outcome": str(outcome), "status": task.status, "reason": task.close_reason,
                             "refuse_all": refuse_all}, now=now)
    return attempt


def _pace_other_tasks(task: FollowupTask, outcome: str, paced: list[datetime], now: datetime,
                      pol: policy.Policy) -> None:
    """The patient's other open tasks may not be dialled before the patient's next retry time
    (after an unanswered dial), nor beyond the daily cap (after any dial). A callback time the
    patient asked for on another task stays as it is."""
    today = sum(1 for t in paced if local(t).date() == local(now).date())
    if outcome in policy.RETRY_OUTCOMES or today >= pol.max_per_day:
        not_before = policy.next_retry_at(paced, pol)
    else:
        return
    db.session.execute(
        update(FollowupTask)
        .where(FollowupTask.id != task.id, FollowupTask.status == TaskStatus.OPEN,
               FollowupTask.callback_at.is_(None),
               FollowupTask.discharge_id.in_(select(Discharge.id).where(Discharge.patient_id == task.discharge.patient_id)),
               or_(FollowupTask.next_attempt_at.is_(None), FollowupTask.next_attempt_at < not_before))
        .values(next_attempt_at=not_before, version=FollowupTask.version + 1)
        .execution_options(synchronize_session=False))


def complete_task(user: User, task: FollowupTask, now: datetime) -> FollowupTask:
    """The follow-up record is saved: the task is done. Called by the form-saving code."""
    require_claim(user, task)
    task.status, task.completed_at = TaskStatus.DONE, now
    task.claimed_by_id, task.claimed_at, task.next_attempt_at, task.callback_at = None, None, None, None
    db.session.flush()
    return task
