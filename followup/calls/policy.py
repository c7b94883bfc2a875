"""Every call rule in one place: calling hours, retries, callbacks, lost to follow-up (失访),
closing outcomes, claim timeout and the at-risk window. Pure functions over times and a task;
the numbers come from config (FOLLOWUP_* in followup/config.py), and calling hours, retry
spacing and the daily cap from the hospital's own settings where it has them. A route, job or
CLI command builds the Policy once (`build(app.config, hospital)`) and passes it down; without
one, the rules use the service defaults (`default()`).

Decisions documented here (the issue leaves them open):
- READMITTED closes the task (close_reason "readmitted"): the patient is back in hospital, and
  the new stay's discharge gets its own tasks. Reports may count it as reached.
- WRONG_NUMBER moves on to the patient's next number at once; when the last number is wrong the
  task is lost to follow-up at once (close_reason "invalid_number"): retrying cannot help.
- ANSWERED keeps the claim: the caller now fills in the form, and complete_task() ends it.
- Every attempt, whatever its outcome, counts towards the 3-a-day cap and the lost rule. The cap
  and the retry spacing count every dial to the patient, from any queue (ward, centre, plans):
  queueing.record_attempt passes the patient's dials, and pushes the patient's other open tasks.
- A callback time the patient asked for wins over calling hours and the retry spacing, and a
  due callback comes before earlier deadlines in the queue; it must lie in the future and within
  FOLLOWUP_CALLBACK_MAX_DAYS. Missed by more than FOLLOWUP_CALLBACK_GRACE_MINUTES, it no longer
  overrides calling hours (nobody should be rung at 06:00 for a missed 21:00 callback).
- Tasks assigned to another caller are held for that caller until they are at risk (due within
  the at-risk window); then anyone in the queue may take them so none lapses."""
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta

from collections.abc import Mapping

from sqlalchemy import or_

from ..core.clock import LOCAL_TZ, as_utc, local
from ..models import FollowupTask, TaskStatus
from ..models.call import Outcome
from . import Invalid

RETRY_OUTCOMES = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.POWERED_OFF})
CLOSING_OUTCOMES = {Outcome.DECEASED: "deceased", Outcome.REFUSED: "refused",
                    Outcome.READMITTED: "readmitted"}
LOST_UNREACHABLE = "unreachable"
LOST_INVALID_NUMBER = "invalid_number"
_END_OF_DAY = time(23, 59, 59, 999999)


@dataclass(frozen=True)
class Policy:
    windows: tuple[tuple[time, time], ...]   # calling hours, local
    day_parts: tuple[time, ...]              # boundaries between parts of the day, local
    retry_after: timedelta
    max_per_day: int
    lost_min_attempts: int
    lost_min_days: int
    claim_timeout: timedelta
    at_risk: timedelta
    callback_max: timedelta
    callback_grace: timedelta


def _clock(text: str) -> time:
    text = text.strip()
    if text == "24:00":
        return _END_OF_DAY
    return time.fromisoformat(text)


def parse_windows(spec: str) -> tuple[tuple[time, time], ...]:
    """"08:30-11:30,14:00-20:00" → ((08:30, 11:30), (14:00, 20:00)); "" = no restriction."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        start, _, end = part.partition("-")
        a, b = _clock(start), _clock(end)
        if not a < b:
            raise ValueError(f"calling hours window {part!r}: start must be before end")
        out.append((a, b))
    return tuple(sorted(out))


def build(config: Mapping, hospital=None) -> Policy:
    """The policy from settings (an app's config or any mapping of FOLLOWUP_* keys), with the
    hospital's own calling hours, retry spacing and daily cap where it has set them."""
    return _build(tuple(config[k] for k in _KEYS),
                  None if hospital is None else (hospital.calling_hours, hospital.retry_minutes,
                                                 hospital.max_attempts_per_day))


@lru_cache(maxsize=256)
def _build(values: tuple, own: tuple | None) -> Policy:
    cfg = dict(zip(_KEYS, values))
    if own is not None:
        hours, retry, cap = own
        cfg["FOLLOWUP_CALLING_HOURS"] = cfg["FOLLOWUP_CALLING_HOURS"] if hours is None else hours
        cfg["FOLLOWUP_RETRY_MINUTES"] = retry or cfg["FOLLOWUP_RETRY_MINUTES"]
        cfg["FOLLOWUP_MAX_ATTEMPTS_PER_DAY"] = cap or cfg["FOLLOWUP_MAX_ATTEMPTS_PER_DAY"]
    return Policy(
        windows=parse_windows(cfg["FOLLOWUP_CALLING_HOURS"]),
        day_parts=tuple(sorted(_clock(t) for t in cfg["FOLLOWUP_DAY_PARTS"].split(",") if t.strip())),
        retry_after=timedelta(minutes=cfg["FOLLOWUP_RETRY_MINUTES"]),
        max_per_day=cfg["FOLLOWUP_MAX_ATTEMPTS_PER_DAY"],
        lost_min_attempts=cfg["FOLLOWUP_LOST_MIN_ATTEMPTS"],
        lost_min_days=cfg["FOLLOWUP_LOST_MIN_DAYS"],
        claim_timeout=timedelta(minutes=cfg["FOLLOWUP_CLAIM_MINUTES"]),
        at_risk=timedelta(hours=cfg["FOLLOWUP_AT_RISK_HOURS"]),
        callback_max=timedelta(days=cfg["FOLLOWUP_CALLBACK_MAX_DAYS"]),
        callback_grace=timedelta(minutes=cfg["FOLLOWUP_CALLBACK_GRACE_MINUTES"]),
    )


def default() -> Policy:
    """The service defaults (followup/config.py), for callers that pass no policy."""
    from ..config import Config
    return build({k: getattr(Config, k) for k in _KEYS})


_KEYS = ("FOLLOWUP_CALLING_HOURS", "FOLLOWUP_DAY_PARTS", "FOLLOWUP_RETRY_MINUTES",
         "FOLLOWUP_MAX_ATTEMPTS_PER_DAY", "FOLLOWUP_LOST_MIN_ATTEMPTS", "FOLLOWUP_LOST_MIN_DAYS",
         "FOLLOWUP_CLAIM_MINUTES", "FOLLOWUP_AT_RISK_HOURS", "FOLLOWUP_CALLBACK_MAX_DAYS",
         "FOLLOWUP_CALLBACK_GRACE_MINUTES")


# --- calling hours --------------------------------------------------------------------------

def _at(d: date, t: time) -> datetime:
    return as_utc(datetime.combine(d, t, tzinfo=LOCAL_TZ))


def in_calling_hours(now: datetime, pol: Policy | None = None) -> bool:
    pol = pol or default()
    if not pol.windows:
        return True
    t = local(now).time()
    return any(a <= t < b for a, b in pol.windows)


def next_window_start(t: datetime, pol: Policy | None = None) -> datetime:
    """The earliest moment at or after t inside calling hours."""
    pol = pol or default()
    if not pol.windows:
        return as_utc(t)
    day = local(t).date()
    for offset in range(8):
        d = day + timedelta(days=offset)
        for a, b in pol.windows:
            if t < _at(d, b):
                return max(as_utc(t), _at(d, a))
    raise ValueError("no calling window within a week")  # unreachable with any window set


def part_of_day(t: datetime, pol: Policy | None = None) -> int:
    """0 = morning, 1 = afternoon, 2 = evening with the default boundaries 12:00 and 17:00."""
    pol = pol or default()
    clock = local(t).time()
    return sum(1 for b in pol.day_parts if b <= clock)


def _next_part_start(t: datetime, pol: Policy) -> datetime:
    d, clock = local(t).date(), local(t).time()
    for b in pol.day_parts:
        if b > clock:
            return _at(d, b)
    return _at(d + timedelta(days=1), time.min)


# --- when a task may be called --------------------------------------------------------------

def callable_at(task: FollowupTask, now: datetime, pol: Policy | None = None) -> datetime | None:
    """When the task may next be dialled (≤ now: callable now); None if it is finished.
    A patient's own callback time wins over calling hours (within the grace period)."""
    pol = pol or default()
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        return None
    if task.callback_at is not None and now <= task.callback_at + pol.callback_grace:
        return as_utc(task.callback_at)
    start = max(as_utc(now), as_utc(task.next_attempt_at)) if task.next_attempt_at else as_utc(now)
    return next_window_start(start, pol)


def callback_due_clause(now: datetime, pol: Policy | None = None):
    """SQL: the patient asked to be called about now (these go first in the queue)."""
    pol = pol or default()
    return FollowupTask.callback_at.between(now - pol.callback_grace, now)


def ready_clause(now: datetime, pol: Policy | None = None, in_hours: bool | None = None):
    """SQL twin of callable_at(...) <= now, for the queue query (index friendly). `now` may be a
    bound parameter (a statement built once, queueing.py): then `in_hours` says which twin."""
    pol = pol or default()
    if not (in_calling_hours(now, pol) if in_hours is None else in_hours):
        return callback_due_clause(now, pol)
    # next_attempt_at equals callback_at for a callback, so a future callback is excluded here.
    return or_(FollowupTask.next_attempt_at.is_(None), FollowupTask.next_attempt_at <= now)


def hold_clause(user, now: datetime, pol: Policy | None = None):
    """Tasks assigned to someone else are held for them until they are at risk."""
    pol = pol or default()
    return or_(FollowupTask.assigned_to_id.is_(None), FollowupTask.assigned_to_id == user.id,
               FollowupTask.due_at <= now + pol.at_risk)


def claim_cutoff(now: datetime, pol: Policy | None = None) -> datetime:
    """Claims taken before this moment are abandoned and return to the queue."""
    return now - (pol or default()).claim_timeout


# --- after a dial ---------------------------------------------------------------------------

def next_retry_at(attempt_times: list[datetime], pol: Policy | None = None) -> datetime:
    """After an unanswered dial at max(attempt_times): no sooner than the retry spacing, in a
    different part of the day, within calling hours, at most max_per_day dials a local day."""
    pol = pol or default()
    last = max(attempt_times)
    per_day: dict[date, int] = {}
    for t in attempt_times:
        per_day[local(t).date()] = per_day.get(local(t).date(), 0) + 1
    t = last + pol.retry_after
    for _ in range(64):
        t = next_window_start(t, pol)
        if local(t).date() == local(last).date() and part_of_day(t, pol) == part_of_day(last, pol):
            t = _next_part_start(t, pol)
            continue
        if per_day.get(local(t).date(), 0) >= pol.max_per_day:
            t = _at(local(t).date() + timedelta(days=1), time.min)
            continue
        return t
    raise ValueError("no retry time found: check calling hours and day parts")


def is_lost(attempt_times: list[datetime], due_at: datetime, now: datetime,
            pol: Policy | None = None) -> bool:
    """失访: the deadline has passed after ≥ N attempts over ≥ M distinct local days."""
    pol = pol or default()
    return (now >= due_at and len(attempt_times) >= pol.lost_min_attempts
            and len({local(t).date() for t in attempt_times}) >= pol.lost_min_days)


@dataclass(frozen=True)
class Decision:
    status: str
    next_attempt_at: datetime | None = None
    callback_at: datetime | None = None
    close_reason: str | None = None
    keep_claim: bool = False


def decide(outcome: str, now: datetime, attempt_times: list[datetime], due_at: datetime, *,
           callback_at: datetime | None = None, numbers_left: int = 0,
           pol: Policy | None = None, patient_times: list[datetime] | None = None) -> Decision:
    """What a dial's outcome does to its task. attempt_times includes this dial (at `now`);
    numbers_left counts the patient's numbers not yet tried after this one; patient_times are
    all dials to the patient from any queue, this one included (pacing: spacing and daily cap),
    the task's own when not given."""
    pol = pol or default()
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise Invalid(f"outcome: unknown value {outcome!r}", field="outcome") from None
    if outcome != Outcome.CALLBACK and callback_at is not None:
        raise Invalid("callback_at: only for the outcome 'callback'", field="callback_at")
    if outcome == Outcome.ANSWERED:
        return Decision(TaskStatus.CLAIMED, keep_claim=True)
    if outcome in CLOSING_OUTCOMES:
        return Decision(TaskStatus.CLOSED, close_reason=CLOSING_OUTCOMES[outcome])
    if outcome == Outcome.CALLBACK:
        if callback_at is None:
            raise Invalid("callback_at: required for the outcome 'callback'", field="callback_at")
        if callback_at.tzinfo is None:
            raise Invalid("callback_at: give a time zone", field="callback_at")
        if not now < callback_at <= now + pol.callback_max:
            raise Invalid(f"callback_at: must be in the future and within "
                          f"{pol.callback_max.days} days", field="callback_at")
        return Decision(TaskStatus.OPEN, next_attempt_at=as_utc(callback_at), callback_at=as_utc(callback_at))
    if outcome == Outcome.WRONG_NUMBER:
        if numbers_left > 0:
            return Decision(TaskStatus.OPEN, next_attempt_at=as_utc(now))
        return Decision(TaskStatus.LOST, close_reason=LOST_INVALID_NUMBER)
    # RETRY_OUTCOMES
    if is_lost(attempt_times, due_at, now, pol):
        return Decision(TaskStatus.LOST, close_reason=LOST_UNREACHABLE)
    return Decision(TaskStatus.OPEN, next_attempt_at=next_retry_at(patient_times or attempt_times, pol))


# --- what the queue shows about calling hours ---------------------------------------------------

def hours_text(pol: Policy) -> str:
    """"08:30–11:30, 14:00–20:00" ("" = no restriction)."""
    def hm(t: time) -> str:
        return "24:00" if t == _END_OF_DAY else t.strftime("%H:%M")
    return ", ".join(f"{hm(a)}–{hm(b)}" for a, b in pol.windows)


@dataclass(frozen=True)
class HoursNow:
    text: str                   # the windows
    open_now: bool
    next_start: datetime | None  # when outside: the next window's start
    days_ahead: int = 0          # 0: today, 1: tomorrow (local days)


def hours_now(now: datetime, pol: Policy) -> HoursNow:
    if in_calling_hours(now, pol):
        return HoursNow(hours_text(pol), True, None)
    start = next_window_start(now, pol)
    return HoursNow(hours_text(pol), False, start, (local(start).date() - local(now).date()).days)


def why_not_now(task: FollowupTask, now: datetime, pol: Policy) -> tuple[str, datetime] | None:
    """Why an open task cannot be dialled now, and from when: ("hours" | "retry" | "callback",
    time), or None when it can. The reason names the rule, never the patient."""
    when = callable_at(task, now, pol)
    if when is None or when <= now:
        return None
    if task.callback_at is not None and as_utc(task.callback_at) == when:
        return "callback", when
    if task.next_attempt_at is not None and as_utc(task.next_attempt_at) > now:
        return "retry", when
    return "hours", when
