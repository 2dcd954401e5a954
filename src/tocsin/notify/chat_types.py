"""The chat platform contract: what the chat outbox (chatops/) asks of Slack and Mattermost.

Each call returns a `ChatResult`, never raises for the platform's failure: delivered (with the
platform's ids in `data`: `channel_id` and `name` of a created channel, `ts`/`post_id` of a post,
`user_id` of a looked-up user, `email` of a user), retryable (with `retry_after` seconds when the
platform said so: Slack's 429 Retry-After), or permanent. `error` is the platform's short error
code when it gave one (`name_taken`, `already_in_channel`, ...) so the caller can act on it; the
detail is in tocsin's words (never the remote's free text, which users could otherwise read back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tocsin.notify.types import Outcome


@dataclass(frozen=True)
class ChatResult:
    outcome: Outcome
    detail: str
    error: str | None = None
    retry_after: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.delivered


class ChatClient(Protocol):
    """One platform's Web API, as the chat outbox uses it (called outside any transaction)."""

    platform: str

    def create_channel(self, name: str, *, private: bool) -> ChatResult: ...
    def set_topic(self, channel: str, topic: str) -> ChatResult: ...
    def add_bookmark(self, channel: str, title: str, link: str) -> ChatResult: ...
    def invite(self, channel: str, users: list[str]) -> ChatResult: ...
    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None) -> ChatResult: ...
    def post_ephemeral(self, channel: str, user: str, text: str) -> ChatResult: ...
    def archive(self, channel: str) -> ChatResult: ...
    def lookup_by_email(self, email: str) -> ChatResult: ...
    def user_email(self, user: str) -> ChatResult: ...
