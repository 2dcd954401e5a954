"""The chat-ops engine jobs (`chat_follow`, `chat_deliver`) driven as the engine drives them, on a
ManualClock: `Chat(db, clock, settings)`; `drain()` lets the follower's settle time pass, then runs both
until nothing waits, moving the clock to the next row's time (one call per channel per second, a
Retry-After, a backoff) instead of sleeping; `settle()` lets the settle time pass."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from tocsin.chatops import deliver, follow
from tocsin.chatops.models import ChatOutbox
from tocsin.config import Settings
from tocsin.jobs import JobContext


class Chat:
    """The two chat jobs on one JobContext per call, sharing what the engine shares across ticks."""

    def __init__(self, db: Any, clock: Any, settings: Settings) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.shared: dict[str, object] = {}

    def ctx(self) -> JobContext:
        return JobContext(self.db, self.clock, "test-engine", self.clock.now(), self.settings, self.shared)

    def settle(self) -> None:
        self.clock.advance(follow.SETTLE)

    def follow(self) -> int:
        return follow.chat_follow(self.ctx())

    def deliver(self) -> int:
        return deliver.chat_deliver(self.ctx())

    def waiting(self) -> list[ChatOutbox]:
        with self.db.read() as s:
            rows = list(s.execute(sa.select(ChatOutbox).where(ChatOutbox.status.in_(("waiting", "claimed")))
                                  .order_by(ChatOutbox.created_at, ChatOutbox.id)).scalars())
            s.expunge_all()  # read after the transaction
            return rows

    def drain(self, limit: int = 200) -> None:
        """Follow and send until nothing waits, moving the clock to the next row's time (a second per
        channel, a Retry-After, a backoff). The follower reads an entry once it is `follow.SETTLE` old:
        that much time passes first."""
        self.clock.advance(follow.SETTLE)
        for _ in range(limit):
            self.follow()
            self.deliver()
            if not self.waiting():
                return
            with self.db.read() as s:
                due = deliver.Chats(self.settings, self.clock).next_due(s)
            self.clock.set(max(due, self.clock.now() + timedelta(milliseconds=1)) if due else self.clock.now())
        raise AssertionError(f"still waiting: {[(r.kind, r.status, r.detail) for r in self.waiting()]}")

    def close(self) -> None:
        for value in self.shared.values():
            for name in ("shutdown", "close"):
                if hasattr(value, name):
                    getattr(value, name)()
                    break
