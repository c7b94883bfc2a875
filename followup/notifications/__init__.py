"""Notifications in the service: `notify()` is the one way to tell users something (escalation,
department feedback, ...); the bell's unread count; the notifications page; marking read.

Texts never name a patient: they say what and how many, and link to the page where the user's
own scope decides what is shown. Every notify() is audited (kind, recipients, link)."""
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..core import audit
from ..models.notification import Notification

PAGE_SIZE = 50


class NotFound(LookupError):
    pass


def notify(session: Session, user_ids, kind: str, text: str, link: str, now: datetime,
           params: dict | None = None) -> list[Notification]:
    """One unread notification per distinct user; flushes, never commits. `link` must be a
    path inside the service ("/ledger/3"), never an absolute URL (no open redirect). With
    `params`, a kind registered in TEXTS says it again in each reader's language."""
    if link and (not link.startswith("/") or link.startswith("//")):
        raise ValueError(f"notification link must be a local path, not {link!r}")
    ids = sorted({int(u) for u in user_ids if u is not None})
    rows = [Notification(user_id=uid, kind=kind, text=text[:2000], link=link or "", created_at=now, params=params)
            for uid in ids]
    session.add_all(rows)
    session.flush()
    if ids:
        audit.record("notification.send", object_type="notification", object_id=rows[0].id,
                     detail={"kind": kind, "users": ids, "link": link}, now=now)
    return rows


# kind → fn(**params) → text in the current request's language. Filled by the senders' modules.
TEXTS: dict = {}


def shown_text(n: Notification) -> str:
    """What the reader sees: said again in their language when the kind and parameters allow,
    else as it was written."""
    say = TEXTS.get(n.kind)
    if say and n.params:
        try:
            return say(**n.params)
        except (TypeError, KeyError, ValueError):  # parameters of another release: the stored text
            pass
    return n.text


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def page(session: Session, user_id: int, *, unread_only: bool = False, before_id: int | None = None) -> dict:
    """The user's notifications, newest first, PAGE_SIZE at a time (keyset: before_id)."""
    q = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    if before_id:
        q = q.where(Notification.id < before_id)
    rows = list(session.scalars(q.order_by(Notification.id.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {"rows": rows, "unread": unread_count(session, user_id), "unread_only": unread_only,
            "next_before": rows[-1].id if more else None}


def mark_read(session: Session, user_id: int, notification_id: int, now: datetime) -> Notification:
    """Mark one of the user's own notifications read (another user's is not found)."""
    n = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                  Notification.user_id == user_id))
    if n is None:
        raise NotFound("notification not found")
    if n.read_at is None:
        n.read_at = now
        session.flush()
    return n


def mark_all_read(session: Session, user_id: int, now: datetime) -> int:
    return session.execute(update(Notification)
                           .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                           .values(read_at=now).execution_options(synchronize_session=False)).rowcount
