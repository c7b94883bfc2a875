"""A hospital's own call settings (calling hours, retry spacing, daily cap): validated, saved on
the hospital row (NULL = the service default), audited. policy.build() reads them."""
from datetime import datetime

from ..core import audit
from ..extensions import db
from ..models import Hospital, User
from . import Invalid, policy


def save_settings(admin: User, hospital: Hospital, calling_hours: str, retry_minutes: str, max_per_day: str,
                  now: datetime) -> Hospital:
    """Empty fields go back to the default. Raises Invalid naming the field."""
    hours = (calling_hours or "").strip().replace("–", "-").replace("，", ",") or None
    if hours is not None:
        try:
            policy.parse_windows(hours)
        except ValueError:
            raise Invalid("calling_hours: give windows like 08:30-11:30,14:00-20:00", field="calling_hours") from None
    retry = _int(retry_minutes, "retry_minutes", 10, 24 * 60)
    cap = _int(max_per_day, "max_attempts_per_day", 1, 10)
    hospital.calling_hours, hospital.retry_minutes, hospital.max_attempts_per_day = hours, retry, cap
    db.session.flush()
    audit.record("hospital.call_settings", user=admin, object_type="hospital", object_id=hospital.id,
                 detail={"calling_hours": hours, "retry_minutes": retry, "max_attempts_per_day": cap}, now=now)
    return hospital


def _int(raw: str, field: str, low: int, high: int) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Invalid(f"{field}: a whole number from {low} to {high}", field=field)
    return int(raw)
