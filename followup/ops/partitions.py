"""The audit log's monthly partitions on PostgreSQL (migration 0020): which exist, and making
this month's and the next ones ahead of time. SQLite keeps one plain table; there every
function here does nothing.

A partition holds one local (Asia/Shanghai) calendar month of `at`, named audit_event_YYYY_MM;
audit_event_default takes any row of a month without one, so no insert ever fails. Partitions
are made by the database function audit_event_add_partition (SECURITY DEFINER: the app's role
creates nothing itself), which also moves a month's rows out of the default partition."""
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from ..core.clock import local, month_bounds

MONTHS_AHEAD = 2  # made ahead by the daily job (and the migration): two missed months are harmless
DEFAULT = "audit_event_default"
_MONTHLY = re.compile(r"^audit_event_(\d{4})_(\d{2})$")


def is_partition_name(name: str | None) -> bool:
    """A partition of audit_event, not a table of the models (for Alembic's comparisons)."""
    return bool(name) and (name == DEFAULT or bool(_MONTHLY.match(name)))


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime  # aware UTC, local midnight of the 1st
    end: datetime    # exclusive


def partitioned(session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('audit_event'))")))


def monthly_partitions(session) -> list[Partition]:
    """The month partitions that exist, oldest first (the default partition is not listed)."""
    if not partitioned(session):
        return []
    names = session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('audit_event')")).all()
    out = []
    for name in names:
        m = _MONTHLY.match(name)
        if m:
            out.append(Partition(name, *month_bounds(int(m.group(1)), int(m.group(2)))))
    return sorted(out, key=lambda p: p.start)


def _months_from(now: datetime, ahead: int) -> list[date]:
    t = local(now)
    y, m = t.year, t.month
    out = []
    for _ in range(ahead + 1):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def ensure_audit_partitions(session, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make sure `now`'s local month and the `ahead` following ones have their partition.
    Idempotent; returns the names of the partitions made by this call. Flushes nothing of the
    session's own; the caller commits."""
    if not partitioned(session):
        return []
    before = {p.name for p in monthly_partitions(session)}
    for first in _months_from(now, ahead):
        session.execute(text("SELECT audit_event_add_partition(:m)"), {"m": first})
    return sorted({p.name for p in monthly_partitions(session)} - before)
