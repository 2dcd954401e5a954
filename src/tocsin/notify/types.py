"""The provider contract: a `Message` in, a `Result` (delivered, retryable, permanent) out.

A provider never raises for a delivery failure; it says whether trying again could help,
so the engine decides about retries and backoff in one place (DESIGN.md convention 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """One notification for one destination.

    `idempotency_key` is stable across retries of the same outbox row, so a send repeated
    after a crash carries the same identity (email Message-ID, webhook Idempotency-Key)
    and the receiver can drop the duplicate. `to` is an email address or a webhook URL.
    `data` is the structured part (alert id, summary, severity, links ...), sent as JSON
    by webhooks. `created_at` is an aware UTC datetime.
    """

    idempotency_key: str
    to: str
    subject: str
    body: str
    data: dict[str, Any]
    created_at: datetime

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("Message.created_at must be an aware datetime")


class Outcome(StrEnum):
    delivered = "delivered"
    retryable = "retryable"  # worth trying again later: the destination may recover
    permanent = "permanent"  # will fail the same way every time: do not retry


@dataclass(frozen=True)
class Result:
    """What happened to one send; `detail` says why (the server's reply when there is one)."""

    outcome: Outcome
    detail: str
    provider_id: str | None = None  # the provider's id for the delivery (Message-ID, ...)

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.delivered


class Provider(Protocol):
    """Sends a message synchronously; called by the engine outside any transaction."""

    name: str

    def send(self, message: Message) -> Result:
        """Return the outcome of delivering `message`; never raise for a delivery failure."""
        ...
