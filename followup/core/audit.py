"""Writes and verifies the hash-chained audit log. Callers commit with their own work.

`record()` only queues the event on the session; the chain is sealed in `before_commit`: take
the chain lock, link the queued events to the last hash, insert them, commit. So the lock is
held for the seal and the commit only, not for the whole request (nurses' call screens and
form saves would otherwise queue behind each other), and a rolled-back transaction leaves no
event behind, like the change it would have described."""
import hashlib
import json

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from .clock import utcnow
from ..extensions import db
from ..models import AuditEvent

_CHAIN_LOCK = 7_310_001  # PostgreSQL advisory lock id that serialises appends to the chain


def _digest(prev_hash: str, ev: AuditEvent) -> str:
    body = json.dumps(
        [prev_hash, ev.at.isoformat(), ev.user_id, ev.username, ev.action, ev.object_type,
         ev.object_id, ev.ip, ev.detail],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(action: str, *, user=None, object_type: str = "", object_id: int | None = None,
           detail: dict | None = None, now=None) -> AuditEvent:
    """Queue one event for this transaction's commit. Personal data never goes in `detail`:
    name the object by id instead."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    ev = AuditEvent(
        at=(now or utcnow()).replace(microsecond=0),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=(request.remote_addr or "") if has_request_context() else "",
        detail=detail or {},
    )
    db.session().info.setdefault(_PENDING, []).append(ev)
    return ev


_PENDING = "followup_audit_pending"


@event.listens_for(Session, "before_commit")
def _seal_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Held until COMMIT: ids (from the sequence) and links are taken in the same order.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    else:
        # SQLite has one writer at a time: inserting first takes the write lock, which is held
        # until COMMIT, so no other transaction can append between our read and our commit.
        session.add_all(pending)
        session.flush()
    last = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    if not postgres:
        last = last.where(AuditEvent.id < pending[0].id)
    prev = session.execute(last).scalar() or ""
    for ev in pending:  # in chain order, so inserted (and numbered) in chain order
        ev.prev_hash = prev
        ev.hash = prev = _digest(prev, ev)
        session.add(ev)
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:  # a savepoint rolled back; the outer work goes on
        return
    session.info.pop(_PENDING, None)


def verify_chain(batch: int = 5000) -> tuple[bool, int, int | None]:
    """Walk the chain in id order, from the last retention anchor if rows were purged.
    Returns (ok, rows checked, id of the first bad row)."""
    from ..models.security import AuditAnchor
    anchor = db.session.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1)).first()
    prev, checked, last_id = (anchor.last_hash, 0, anchor.through_id) if anchor else ("", 0, 0)
    while True:
        rows = db.session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            return True, checked, None
        for ev in rows:
            if ev.prev_hash != prev or ev.hash != _digest(prev, ev):
                return False, checked, ev.id
            prev, last_id, checked = ev.hash, ev.id, checked + 1
