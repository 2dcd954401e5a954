"""A real SMTP server (aiosmtpd) on loopback that records the mail it accepts.

    with SmtpFixture() as smtp:          # or the `smtp` fixture (tests/harness/plugin.py)
        EmailProvider(smtp.url, ...).send(...)
        [got] = smtp.handler.received    # Received(mail_from, rcpt_tos, message: EmailMessage)

`smtp.handler.rcpt_reply` / `data_reply` (e.g. "451 4.3.0 try again later") make it refuse
recipients or messages with that reply until set back to None. Keyword arguments go to aiosmtpd's
Controller (TLS contexts, authenticators).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller

from tests.harness.ports import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """An aiosmtpd handler: records accepted mail; `rcpt_reply` / `data_reply` refuse instead."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        parsed = message_from_bytes(envelope.content, policy=email_policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 2.0.0 OK queued as T1"


class SmtpFixture:
    """The server; `url` is what TOCSIN_SMTP_URL would be set to."""

    def __init__(self, **smtp_parameters: Any) -> None:
        self.handler = Recorder()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **smtp_parameters)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
