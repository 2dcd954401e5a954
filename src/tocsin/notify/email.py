"""Deliver a message by email over SMTP (aiosmtplib), mapping every failure to retryable or permanent.

The server is named by one URL (`TOCSIN_SMTP_URL`):

    smtp://[user:pass@]host[:port][?starttls=true|false]   plain SMTP, port 25 by default
    smtps://[user:pass@]host[:port]                        implicit TLS, port 465 by default

With `smtp://` and no `starttls`, the connection is upgraded when the server offers STARTTLS
(aiosmtplib's default); `starttls=true` requires the upgrade and fails (permanently) when the
server does not offer it; `starttls=false` never upgrades. User and password are
percent-decoded, so a password containing `@` or `:` is written `%40` / `%3A`.

The SMTP host is the operator's configuration, not user input, so it does not pass the
HTTP egress guard (which exists to stop users pointing webhooks at internal addresses).

Retries are safe to deduplicate: the Message-ID and the Date header derive from the message's
idempotency key and creation time, so a send repeated after a crash is the same message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from tocsin.notify.types import Message, Outcome, Result

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
IDEMPOTENCY_HEADER = "X-Tocsin-Idempotency-Key"


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, parsed from an SMTP URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False  # implicit TLS from the first byte (smtps)
    start_tls: bool | None = None  # None: upgrade if offered; True: require; False: never


def parse_smtp_url(url: str) -> SmtpServer:
    """Return the server an `smtp://` or `smtps://` URL names.

    Raises ValueError for another scheme, a missing host, a bad port, a path or fragment,
    a user without a password (or the reverse), an unknown query parameter, a `starttls`
    value other than true/false, or `starttls` on an `smtps://` URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad SMTP URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"bad SMTP URL: scheme must be smtp or smtps, not {parts.scheme or 'missing'!r}")
    if not parts.hostname:
        raise ValueError("bad SMTP URL: no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("bad SMTP URL: a path or fragment is not allowed")
    if (parts.username is None) != (parts.password is None):
        raise ValueError("bad SMTP URL: give both user and password (user:pass@host) or neither")

    start_tls: bool | None = None
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise ValueError(f"bad SMTP URL query: {exc}") from None
    for key, value in query:
        if key != "starttls":
            raise ValueError(f"bad SMTP URL: unknown parameter {key!r} (only starttls)")
        if scheme == "smtps":
            raise ValueError("bad SMTP URL: smtps is implicit TLS; starttls does not apply")
        if value.lower() not in ("true", "false"):
            raise ValueError(f"bad SMTP URL: starttls must be true or false, not {value!r}")
        start_tls = value.lower() == "true"

    return SmtpServer(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
        use_tls=scheme == "smtps",
        start_tls=start_tls,
    )


def message_id(idempotency_key: str) -> str:
    """Return the Message-ID header value for a key: the same key always gives the same id."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@tocsin>"


def _address(addr_spec: str, display_name: str = "") -> Address:
    # One bare addr-spec (no list, no display name, no CR/LF, ASCII local part): anything
    # else is refused before connecting, since no server will ever accept it. The email
    # parser signals bad input with several exception types, even IndexError.
    try:
        address = Address(display_name=display_name, addr_spec=addr_spec.strip())
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"invalid email address {addr_spec!r}: {exc}") from None
    if not address.username or not address.domain:
        raise ValueError(f"invalid email address {addr_spec!r}: needs user@domain")
    return address


def _one_line(text: str) -> str:
    # A subject built from an alert summary may hold newlines; a header must not.
    return re.sub(r"\s+", " ", text).strip()


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _by_code(code: int, detail: str) -> Result:
    # 5xx is the server's final word about this message; 4xx (and anything odd) may pass later.
    outcome = Outcome.permanent if 500 <= code < 600 else Outcome.retryable
    return Result(outcome, detail)


def classify_error(exc: Exception) -> Result:
    """Return the Result for an exception raised while sending (aiosmtplib's or the OS's)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        detail = "recipient refused: " + "; ".join(f"{r.recipient}: {_reply(r)}" for r in refusals)
        # Permanent only if every refusal is final; a 4xx (mailbox busy, greylisting) may pass later.
        final = bool(refusals) and all(500 <= r.code < 600 for r in refusals)
        return Result(Outcome.permanent if final else Outcome.retryable, detail)
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        return _by_code(exc.code, f"server refused the connection: {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _by_code(exc.code, f"sender {exc.sender} refused: {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _by_code(exc.code, f"authentication failed: {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return _by_code(exc.code, f"message refused: {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, f"server replied {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return Result(Outcome.retryable, f"timed out: {exc}")
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return Result(Outcome.retryable, f"connection failed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return Result(Outcome.permanent, f"not supported by the server: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException):
        # The remaining bare SMTPExceptions are configuration mismatches that retrying
        # cannot fix: STARTTLS required but not offered, no usable AUTH mechanism.
        return Result(Outcome.permanent, f"SMTP error: {exc}")
    if isinstance(exc, OSError | TimeoutError):
        return Result(Outcome.retryable, f"connection failed: {exc}")
    raise exc


class EmailProvider:
    """Sends each message as one text/plain email to `message.to` through one SMTP server."""

    name = "email"

    def __init__(self, smtp_url: str, sender: str, timeout: float = 10, *, tls_context: ssl.SSLContext | None = None) -> None:
        """Raise ValueError for a bad `smtp_url` or `sender`.

        `sender` is an address, optionally with a display name ("Tocsin <pager@example.com>").
        `timeout` bounds each SMTP step (connect, each command). `tls_context` (an
        `ssl.SSLContext`) replaces the default certificate checks, e.g. for a private CA.
        """
        self.server = parse_smtp_url(smtp_url)
        display_name, addr_spec = parseaddr(sender)
        if not addr_spec or "\n" in sender or "\r" in sender:
            raise ValueError(f"invalid sender address {sender!r}")
        self.sender = _address(addr_spec, display_name)
        self.timeout = timeout
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"EmailProvider(server={self.server!r}, sender={str(self.sender)!r})"

    def build(self, message: Message) -> EmailMessage:
        """Return the email for `message`; raise ValueError if `message.to` is not an address."""
        recipient = _address(message.to)
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = recipient
        email["Subject"] = _one_line(message.subject)
        email["Date"] = format_datetime(message.created_at)
        email["Message-ID"] = message_id(message.idempotency_key)
        email[IDEMPOTENCY_HEADER] = _one_line(message.idempotency_key)
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: stop vacation auto-replies
        email.set_content(message.body)
        return email

    def send(self, message: Message) -> Result:
        """Return delivered once the server accepted the message, else retryable or permanent.

        Runs aiosmtplib's coroutine with `asyncio.run`, so it must be called from a thread
        without a running event loop (the engine's worker threads have none).
        """
        try:
            email = self.build(message)
        except ValueError as exc:
            return Result(Outcome.permanent, str(exc))
        try:
            _, reply = asyncio.run(self._send(email))
        except Exception as exc:  # noqa: BLE001 - classify_error re-raises what it does not know
            return classify_error(exc)
        return Result(Outcome.delivered, f"accepted: {reply}".strip(), provider_id=email["Message-ID"])

    async def _send(self, email: EmailMessage) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        server = self.server
        return await aiosmtplib.send(
            email,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=self.timeout,
            tls_context=self._tls_context,
            sender=self.sender.addr_spec,
            recipients=[email["To"].addresses[0].addr_spec],
        )
