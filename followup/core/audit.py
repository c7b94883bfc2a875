"""Writes and verifies the keyed, hash-chained audit log. Callers commit with their own work.

Each row's hash is an HMAC-SHA-256, under the audit key (held by the app, never by the
database), of the previous hash and the row's fields: without the key nobody can recompute the
chain after editing or removing a row. Signed checkpoints of the head, written to a file outside
the database (`write_checkpoint`, by the cron process), make deleting the newest rows show: the
last checkpoint names a row that must still be there with the same hash.

`record()` only queues the event on the session; the chain is sealed in `before_commit`: take
the chain lock, link the queued events to the last hash, insert them, commit. So the lock is
held for the seal and the commit only, not for the whole request (nurses' call screens and
form saves would otherwise queue behind each other), and a rolled-back transaction leaves no
event behind, like the change it would have described."""
import hmac
import json
import os
from datetime import datetime, timezone

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from .clock import utcnow
from ..extensions import db
from ..models import AuditEvent

_CHAIN_LOCK = 7_310_001  # PostgreSQL advisory lock id that serialises appends to the chain


def _key() -> bytes:
    return current_app.extensions["followup_keys"].audit_key


def _mac(*parts) -> str:
    body = json.dumps(list(parts), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.digest(_key(), body.encode(), "sha256").hex()


def _utc(at: datetime) -> datetime:
    """The canonical time of an event: UTC, whatever zone it was recorded in (it is read back
    from the database in UTC; a +08:00 time hashed as such never verified)."""
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _digest(prev_hash: str, ev: AuditEvent) -> str:
    return _mac(prev_hash, _utc(ev.at).isoformat(), ev.user_id, ev.username, ev.action,
                ev.object_type, ev.object_id, ev.ip, ev.detail)


def anchor_mac(through_id: int, last_hash: str) -> str:
    return _mac("anchor", through_id, last_hash)


def record(action: str, *, user=None, object_type: str = "", object_id: int | None = None,
           detail: dict | None = None, now=None) -> AuditEvent:
    """Queue one event for this transaction's commit. Personal data never goes in `detail`:
    name the object by id instead."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    ev = AuditEvent(
        at=_utc(now or utcnow()).replace(microsecond=0),
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


def verify_chain(batch: int = 5000, checkpoint_path: str | None = None) -> tuple[bool, int, int | None]:
    """Walk the chain in id order, from the last retention anchor if rows were purged, then check
    every signed checkpoint against it. Returns (ok, rows checked, id of the first bad row); a
    forged anchor or checkpoint, or a checkpointed row gone or changed, is bad too."""
    from ..models.security import AuditAnchor
    anchor = db.session.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1)).first()
    if anchor and not hmac.compare_digest(anchor.mac or "", anchor_mac(anchor.through_id, anchor.last_hash)):
        return False, 0, anchor.through_id
    prev, checked, last_id = (anchor.last_hash, 0, anchor.through_id) if anchor else ("", 0, 0)
    first_id = last_id
    while True:
        rows = db.session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            if ev.prev_hash != prev or ev.hash != _digest(prev, ev):
                return False, checked, ev.id
            prev, last_id, checked = ev.hash, ev.id, checked + 1
    bad = _check_checkpoints(checkpoint_path or checkpoint_file(), first_id, batch)
    return bad is None, checked, bad


def checkpoint_file() -> str:
    return current_app.config.get("AUDIT_CHECKPOINT_PATH") or os.path.join(
        current_app.instance_path, "audit-checkpoints.jsonl")


def _read_checkpoints(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _check_checkpoints(path: str, purged_through: int, batch: int) -> int | None:
    """The id of the first checkpoint that is forged or no longer matches the chain, else None.
    Rows at or below the last anchor were purged on purpose; the anchor itself is signed."""
    points = _read_checkpoints(path)
    for cp in points:
        if not hmac.compare_digest(cp.get("mac", ""), _mac("checkpoint", cp["id"], cp["hash"], cp["at"])):
            return cp["id"]
    live = [cp for cp in points if cp["id"] > purged_through]
    for i in range(0, len(live), batch):
        part = live[i:i + batch]
        found = dict(db.session.execute(
            select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_([cp["id"] for cp in part]))).all())
        for cp in part:
            if found.get(cp["id"]) != cp["hash"]:
                return cp["id"]
    return None


def write_checkpoint(now: datetime, path: str | None = None) -> dict | None:
    """Append a signed checkpoint of the chain's head to a file outside the database, unless the
    head is the one last written. Returns the checkpoint written, or None."""
    path = path or checkpoint_file()
    head = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    if head is None:
        return None
    last = _last_line(path)
    if last and last.get("id") == head.id and last.get("hash") == head.hash:
        return None
    at = _utc(now).isoformat()
    cp = {"id": head.id, "hash": head.hash, "at": at, "mac": _mac("checkpoint", head.id, head.hash, at)}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(cp, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return cp


def _last_line(path: str) -> dict | None:
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 4096))
        lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    return json.loads(lines[-1]) if lines else None
