"""Writes and verifies the hash-chained audit log. Callers flush/commit with their own work."""
import hashlib
import json

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select, text

from .clock import utcnow
from .extensions import db
from .models import AuditEvent

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
    """Append one event. Personal data never goes in `detail`: name the object by id instead."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    prev = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    ev = AuditEvent(
        at=(now or utcnow()).replace(microsecond=0),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=(request.remote_addr or "") if has_request_context() else "",
        detail=detail or {},
        prev_hash=prev or "",
    )
    ev.hash = _digest(ev.prev_hash, ev)
    session.add(ev)
    session.flush()
    return ev


def verify_chain(batch: int = 5000) -> tuple[bool, int, int | None]:
    """Walk the chain in id order, from the last retention anchor if rows were purged.
    Returns (ok, rows checked, id of the first bad row)."""
    from .models.security import AuditAnchor
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
