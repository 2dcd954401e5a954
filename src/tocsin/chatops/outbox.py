"""The chat outbox's queue side: writing calls (`enqueue`, `post` merging a burst into the waiting post of
its channel), choosing which rows a claim may take (`heads`), and pruning what was sent.

The rules a claim follows (Slack allows about one message per second per channel, and a 429's
Retry-After holds the channel):
- rows of one channel go in the order they were written: only the oldest unsettled row of a channel
  (its head) may be taken, and the rows behind it wait while it waits (a 429 or 5xx on a post keeps
  the topic change written after it from overtaking it);
- at most one row per channel per claim, and none for a channel sent to within the last GAP;
- rows without a channel (none today) are independent.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.chatops.compose import merge
from tocsin.chatops.models import ChatOutbox
from tocsin.db.prune import delete_batch

GAP = timedelta(seconds=1)  # one call per channel per second
LOOKAHEAD = 500  # unsettled rows a claim looks at (oldest first)
UNSETTLED = ("waiting", "claimed")


def enqueue(s: Session, *, platform: str, kind: str, payload: dict[str, Any], now: datetime,
            channel_row_id: uuid.UUID | None, incident_id: uuid.UUID | None) -> ChatOutbox:
    row = ChatOutbox(platform=platform, channel_row_id=channel_row_id, incident_id=incident_id, kind=kind,
                     payload=payload, status="waiting", attempts=0, due_at=now, created_at=now)
    s.add(row)
    s.flush()
    return row


def post(s: Session, *, platform: str, channel_row_id: uuid.UUID, incident_id: uuid.UUID, lines: list[str],
         now: datetime, extra: dict[str, Any] | None = None) -> ChatOutbox:
    """Queue `lines` for the channel: appended to its newest waiting post (a burst becomes one message),
    else a new post row. `payload` keeps the lines and the merged `text`."""
    row = s.execute(sa.select(ChatOutbox).where(
        ChatOutbox.channel_row_id == channel_row_id, ChatOutbox.kind == "post", ChatOutbox.status == "waiting")
        .order_by(ChatOutbox.created_at.desc(), ChatOutbox.id.desc()).limit(1).with_for_update()).scalar_one_or_none()
    if row is not None:
        merged = [*row.payload.get("lines", []), *lines]
        row.payload = {**row.payload, **(extra or {}), "lines": merged, "text": merge(merged)}  # a new dict: saved
        return row
    return enqueue(s, platform=platform, kind="post", now=now, channel_row_id=channel_row_id,
                   incident_id=incident_id, payload={**(extra or {}), "lines": lines, "text": merge(lines)})


def _unsettled(s: Session) -> list[ChatOutbox]:
    return list(s.execute(sa.select(ChatOutbox).where(ChatOutbox.status.in_(UNSETTLED))
                          .order_by(ChatOutbox.created_at, ChatOutbox.id).limit(LOOKAHEAD)).scalars())


def _last_sent(s: Session, channels: set[uuid.UUID], now: datetime) -> dict[uuid.UUID, datetime]:
    """When each of `channels` was last sent to, for those sent to within GAP."""
    if not channels:
        return {}
    out: dict[uuid.UUID, datetime] = {}
    for channel, at in s.execute(sa.select(ChatOutbox.channel_row_id, ChatOutbox.sent_at).where(
            ChatOutbox.channel_row_id.in_(channels), ChatOutbox.sent_at > now - GAP)).all():
        if channel is not None and at is not None and (channel not in out or at > out[channel]):
            out[channel] = at
    return out


def _ready_at(row: ChatOutbox, last: datetime | None) -> datetime:
    """When the head `row` of its channel may go."""
    at = row.claimed_until if row.status == "claimed" and row.claimed_until is not None else row.due_at
    return max(at, last + GAP) if last is not None else at


def _heads(s: Session, now: datetime) -> list[tuple[ChatOutbox, datetime]]:
    rows = _unsettled(s)
    heads: dict[uuid.UUID, ChatOutbox] = {}
    for row in rows:
        heads.setdefault(row.channel_row_id or row.id, row)
    last = _last_sent(s, {r.channel_row_id for r in heads.values() if r.channel_row_id is not None}, now)
    return [(r, _ready_at(r, last.get(r.channel_row_id) if r.channel_row_id else None)) for r in heads.values()]


def due_heads(s: Session, now: datetime, limit: int) -> list[ChatOutbox]:
    """The rows a claim at `now` may take: each channel's head, if its time has come; locked (SKIP LOCKED
    on PostgreSQL: another engine takes other channels)."""
    ids = [r.id for r, at in _heads(s, now) if at <= now][:limit]
    if not ids:
        return []
    return list(s.execute(sa.select(ChatOutbox).where(ChatOutbox.id.in_(ids), ChatOutbox.status.in_(UNSETTLED))
                          .order_by(ChatOutbox.created_at, ChatOutbox.id)
                          .with_for_update(skip_locked=True)).scalars())


def next_due(s: Session, now: datetime) -> datetime | None:
    """When the earliest head may go (the delivery thread sleeps until then)."""
    times = [at for _, at in _heads(s, now)]
    return min(times) if times else None


def has_due(s: Session, now: datetime) -> bool:
    """The cheap probe: some unsettled row is due (its channel may still be holding it back)."""
    return s.execute(sa.select(sa.select(ChatOutbox.id).where(
        ChatOutbox.status.in_(UNSETTLED), ChatOutbox.due_at <= now,
        sa.or_(ChatOutbox.claimed_until.is_(None), ChatOutbox.claimed_until <= now)).exists())).scalar() is True


def prune(s: Session, *, before: datetime, limit: int) -> int:
    """Retention: delete up to `limit` rows written before `before` that were sent or failed."""
    return delete_batch(s, ChatOutbox, ChatOutbox.created_at < before, ChatOutbox.status.in_(("sent", "failed")),
                        oldest_first=ChatOutbox.created_at, limit=limit)
