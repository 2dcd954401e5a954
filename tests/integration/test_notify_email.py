"""The email provider against a real SMTP server (aiosmtpd) on loopback.

Each test starts its own server (the harness's `SmtpFixture`, the `smtp` fixture) with a handler
that records what it accepted and can be told to refuse recipients or messages with a given reply, so the retryable/permanent
mapping is observed from real SMTP replies, not from mocked exceptions.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.harness.ports import free_port
from tests.harness.smtp import SmtpFixture
from tests.harness.webhook import self_signed_cert, server_tls
from tocsin.notify.email import EmailProvider, SmtpServer, message_id, parse_smtp_url
from tocsin.notify.types import Message, Outcome

SENDER = "Tocsin <pager@tocsin.test>"
CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def message(key: str = "notif:1", to: str = "alice@example.com", **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "idempotency_key": key,
        "to": to,
        "subject": "[CRITICAL] Database down",
        "body": "db-1 is not answering.\nAck: https://tocsin.test/a/1",
        "data": {"alert_id": "a1"},
        "created_at": CREATED,
    }
    values.update(overrides)
    return Message(**values)


def test_a_sent_message_arrives_with_its_headers_and_body(smtp: SmtpFixture) -> None:
    result = EmailProvider(smtp.url, SENDER).send(message())

    assert result.outcome is Outcome.delivered, result.detail
    assert result.detail == "accepted: 2.0.0 OK queued as T1"
    assert result.provider_id == message_id("notif:1")
    [got] = smtp.handler.received
    assert got.mail_from == "pager@tocsin.test"
    assert got.rcpt_tos == ["alice@example.com"]
    mail = got.message
    assert mail["From"] == SENDER
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "[CRITICAL] Database down"
    assert mail["Message-ID"] == message_id("notif:1")
    assert mail["X-Tocsin-Idempotency-Key"] == "notif:1"
    assert mail["Date"].datetime == CREATED
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().splitlines() == ["db-1 is not answering.", "Ack: https://tocsin.test/a/1"]


def test_the_same_key_gives_the_same_message_id_so_a_retry_can_be_deduplicated(smtp: SmtpFixture) -> None:
    provider = EmailProvider(smtp.url, SENDER)
    for key in ("notif:1", "notif:1", "notif:2"):
        assert provider.send(message(key)).outcome is Outcome.delivered

    ids = [r.message["Message-ID"] for r in smtp.handler.received]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0] == message_id("notif:1")
    assert ids[0].startswith("<") and ids[0].endswith("@tocsin>") and len(ids[0]) == len("<@tocsin>") + 32


def test_a_subject_with_newlines_is_folded_to_one_line_not_injected(smtp: SmtpFixture) -> None:
    result = EmailProvider(smtp.url, SENDER).send(message(subject="Disk full\r\nBcc: eve@evil.test"))

    assert result.outcome is Outcome.delivered, result.detail
    [got] = smtp.handler.received
    assert got.message["Subject"] == "Disk full Bcc: eve@evil.test"
    assert got.message["Bcc"] is None
    assert got.rcpt_tos == ["alice@example.com"]


@pytest.mark.parametrize(
    ("rcpt_reply", "data_reply", "outcome", "in_detail"),
    [
        ("550 5.1.1 unknown recipient", None, Outcome.permanent, "550 5.1.1 unknown recipient"),
        ("451 4.7.1 greylisted, try later", None, Outcome.retryable, "451 4.7.1 greylisted"),
        (None, "451 4.3.0 try again later", Outcome.retryable, "451 4.3.0 try again later"),
        (None, "554 5.6.0 message rejected", Outcome.permanent, "554 5.6.0 message rejected"),
    ],
)
def test_server_replies_map_to_retryable_or_permanent(
    smtp: SmtpFixture, rcpt_reply: str | None, data_reply: str | None, outcome: Outcome, in_detail: str
) -> None:
    smtp.handler.rcpt_reply, smtp.handler.data_reply = rcpt_reply, data_reply

    result = EmailProvider(smtp.url, SENDER).send(message())

    assert result.outcome is outcome
    assert in_detail in result.detail
    assert smtp.handler.received == []


def test_a_closed_port_is_retryable() -> None:
    result = EmailProvider(f"smtp://127.0.0.1:{free_port()}", SENDER, timeout=2).send(message())

    assert result.outcome is Outcome.retryable
    assert "connection failed" in result.detail


def test_a_server_that_never_greets_times_out_retryable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # the kernel completes the handshake; nobody ever says "220"
        port = listener.getsockname()[1]
        result = EmailProvider(f"smtp://127.0.0.1:{port}", SENDER, timeout=0.3).send(message())

    assert result.outcome is Outcome.retryable
    assert "timed out" in result.detail.lower()


@pytest.mark.parametrize("to", ["not-an-address", "bob@", "alice@example.com, eve@evil.test", "a@b.test\r\nBcc: e@x"])
def test_an_invalid_recipient_is_permanent_before_connecting(to: str) -> None:
    # A closed port: any connection attempt would come back retryable, not permanent.
    result = EmailProvider(f"smtp://127.0.0.1:{free_port()}", SENDER).send(message(to=to))

    assert result.outcome is Outcome.permanent
    assert "invalid email address" in result.detail


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", SmtpServer("127.0.0.1", 2525)),
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25)),
        ("SMTP://mail.example.com:587/?starttls=true", SmtpServer("mail.example.com", 587, start_tls=True)),
        ("smtp://h:25?starttls=False", SmtpServer("h", 25, start_tls=False)),
        ("smtp://u%40x:p%3Ass@h:587", SmtpServer("h", 587, username="u@x", password="p:ss")),
        ("smtps://u:p@h", SmtpServer("h", 465, username="u", password="p", use_tls=True)),
        ("smtps://[::1]:4650", SmtpServer("::1", 4650, use_tls=True)),
    ],
)
def test_parse_smtp_url(url: str, expected: SmtpServer) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "127.0.0.1:25",
        "http://mail.example.com:25",
        "mailto:ops@example.com",
        "smtp://",
        "smtp://:25",
        "smtp://h:99999",
        "smtp://h:port",
        "smtp://h:25/relay",
        "smtp://h:25#x",
        "smtp://h:25?starttls=maybe",
        "smtp://h:25?tls=true",
        "smtp://h:25?starttls",
        "smtps://h:465?starttls=true",
        "smtp://user@h:25",
    ],
)
def test_a_bad_smtp_url_is_a_value_error(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP URL"):
        EmailProvider(url, SENDER)


@pytest.mark.parametrize("sender", ["", "nobody", "a@b.test\nBcc: e@x", "x@"])
def test_a_bad_sender_is_a_value_error(sender: str) -> None:
    with pytest.raises(ValueError, match="address"):
        EmailProvider("smtp://127.0.0.1:25", sender)


def test_the_password_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(EmailProvider("smtp://u:s3cret@h:587", SENDER))


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"pager", b"p@ss:word")
    return AuthResult(success=ok, handled=False)


# plain-text AUTH is fine on loopback; aiosmtpd warns about it
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("password", "outcome"), [("p%40ss%3Aword", Outcome.delivered), ("wrong", Outcome.permanent)])
def test_credentials_from_the_url_authenticate(password: str, outcome: Outcome) -> None:
    with SmtpFixture(authenticator=_authenticator, auth_require_tls=False, auth_required=True) as server:
        url = f"smtp://pager:{password}@127.0.0.1:{server.port}?starttls=false"
        result = EmailProvider(url, SENDER).send(message())

        assert result.outcome is outcome, result.detail
        assert len(server.handler.received) == (1 if outcome is Outcome.delivered else 0)
        if outcome is Outcome.permanent:
            assert "authentication failed: 535" in result.detail


def test_starttls_upgrades_and_verifies_the_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path, days=30, hostname="localhost")
    client_tls = ssl.create_default_context(cafile=str(cert))
    with SmtpFixture(tls_context=server_tls(cert, key), require_starttls=True) as server:
        provider = EmailProvider(f"smtp://localhost:{server.port}?starttls=true", SENDER, tls_context=client_tls)
        result = provider.send(message())

        assert result.outcome is Outcome.delivered, result.detail
        assert len(server.handler.received) == 1


def test_starttls_required_but_not_offered_is_permanent(smtp: SmtpFixture) -> None:
    result = EmailProvider(f"{smtp.url}?starttls=true", SENDER).send(message())

    assert result.outcome is Outcome.permanent
    assert "STARTTLS" in result.detail
    assert smtp.handler.received == []
