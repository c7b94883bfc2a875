"""Time as a parameter: aware UTC now, and conversions to the local (Asia/Shanghai) calendar."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(dt: datetime) -> datetime:
    """Naive datetimes (SQLite returns them) are UTC by our storage convention."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def local(dt: datetime) -> datetime:
    return as_utc(dt).astimezone(LOCAL_TZ)


def local_date(dt: datetime) -> date:
    return local(dt).date()


def local_midnight(d: date) -> datetime:
    """The start of local calendar day d, as an aware UTC datetime."""
    return datetime.combine(d, time.min, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar month, as aware UTC datetimes."""
    start = local_midnight(date(year, month, 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, local_midnight(nxt)


def days(n: int) -> timedelta:
    return timedelta(days=n)
