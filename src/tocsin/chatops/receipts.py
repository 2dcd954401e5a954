"""Inbound deliveries acted on once: a platform retries what it did not see answered in time (Slack
after 3 s, up to three times), so every handler that changes something first claims the delivery's
key here (an event id, a slash command's trigger id, a captured message) and does nothing when the
key was already claimed."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.chatops.models import ChatReceipt

KEEP = timedelta(days=7)  # longer than any platform retries; older receipts are pruned


def stored_key(key: str) -> str:
    """`key` as stored (at most 255 characters): a longer key keeps its start and ends in a digest of
    the whole, so two keys that differ only past the cut (an action or a user after a long trigger
    id) stay two claims."""
    if len(key) <= 255:
        return key
    return f"{key[:190]}#{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()}"


def first_time(s: Session, *, platform: str, key: str, now: datetime, incident_id: uuid.UUID | None = None) -> bool:
    """Claim `key`: True the first time (the caller acts), False for a repeat (the caller does nothing).

    The insert runs in a savepoint, so a concurrent claim of the same key loses cleanly on the
    unique constraint instead of spoiling the caller's transaction."""
    key = stored_key(key)
    if s.execute(sa.select(ChatReceipt.id).where(ChatReceipt.platform == platform, ChatReceipt.key == key)).first():
        return False
    try:
        with s.begin_nested():
            s.add(ChatReceipt(platform=platform, key=key, incident_id=incident_id, received_at=now))
    except IntegrityError:
        return False
    return True


def note_entry(s: Session, *, platform: str, key: str, entry_id: uuid.UUID) -> None:
    """Remember the timeline entry a claimed delivery made (a capture links back to its message)."""
    s.execute(sa.update(ChatReceipt).where(ChatReceipt.platform == platform, ChatReceipt.key == stored_key(key))
              .values(entry_id=entry_id))


def prune(s: Session, *, now: datetime, limit: int = 500) -> int:
    """Forget receipts older than KEEP (a few at a time, for the retention job)."""
    ids = s.execute(sa.select(ChatReceipt.id).where(ChatReceipt.received_at < now - KEEP).limit(limit)).scalars().all()
    if ids:
        s.execute(sa.delete(ChatReceipt).where(ChatReceipt.id.in_(ids)))
    return len(ids)
