"""The provider contract: a `Message` in, a `Result` (delivered, retryable, permanent) out.

A provider never raises for a delivery failure; it says whether trying again could help,
so the engine decides about retries and backoff in one place (DESIGN.md convention 8).
"""

from __future__ import annotations

import http
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


def status_words(status: int) -> str:
    """Return "HTTP <status> <standard reason>" in tocsin's words, never the remote's.

    A reply's own reason phrase and body are the remote's text: an attacker who points a
    webhook at an internal service would read that service through them, so details shown
    to users carry only the status code and the phrase the standard gives it.
    """
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def retry_after_words(value: str | None) -> str:
    """Return " (Retry-After: N s)" for a Retry-After of delay-seconds, else "" (remote text is not repeated)."""
    text = (value or "").strip()
    return f" (Retry-After: {int(text)} s)" if (text.isascii() and text.isdigit()) and len(text) <= 7 else ""


@dataclass(frozen=True)
class Result:
    """What happened to one send; `detail` says why, in tocsin's own words (a status code and a
    short reason, never the remote's reply, which users could otherwise read back)."""

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
