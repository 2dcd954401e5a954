"""The two messages a person asks for through one of their contact methods and waits for: the
verification code and the test message. They go at once, outside any transaction (the caller
commits the code's hash first), not through the notifications outbox: the person is looking at
the screen and wants to know now whether the provider took it. Used by the API and the console.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.contacts.models import ContactMethod
from tocsin.notify.dispatch import Dispatcher
from tocsin.notify.types import Message


@dataclass(frozen=True)
class Target:
    """Where to send, copied out of the row before its transaction ends."""

    id: uuid.UUID
    type: str
    address: str

    @classmethod
    def of(cls, method: ContactMethod) -> Target:
        return cls(method.id, method.type, method.address)


@dataclass(frozen=True)
class Sent:
    sent: bool  # the provider accepted it
    detail: str  # the provider's answer in tocsin's words, or why it was not sent


def _send(settings: Settings, clock: Clock, target: Target, *, subject: str, body: str, kind: str,
          now: datetime) -> Sent:
    dispatcher = Dispatcher(settings, clock)
    try:
        result = dispatcher.send(target.type, Message(
            idempotency_key=f"{kind}:{target.id}:{now.timestamp()}", to=target.address, subject=subject, body=body,
            data={"kind": kind}, created_at=now), contact_method_id=target.id)
    finally:
        dispatcher.close()
    return Sent(result.delivered, result.detail)


def send_code(settings: Settings, clock: Clock, target: Target, code: str, *, now: datetime) -> Sent:
    """Send a verification code (from `service.new_code`) through the method."""
    return _send(settings, clock, target, subject="tocsin verification code",
                 body=f"Your tocsin verification code is {code}. It expires in 15 minutes.", kind="verify", now=now)


def send_test(settings: Settings, clock: Clock, target: Target, *, now: datetime) -> Sent:
    """Send the test message through a verified method."""
    return _send(settings, clock, target, subject="tocsin test message", body="This is a test message from tocsin.",
                 kind="test", now=now)
