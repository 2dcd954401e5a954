"""The Apprise provider against a real local HTTP receiver (the harness's `Receiver`).

`json://` and `ntfy://` URLs point at the receiver, so what Apprise actually put on the wire
is checked; the receiver counts accepted connections, so "refused before connecting" is
observed, and socket-level patches show which names were looked up and what was dialled.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.harness.webhook import Receiver
from tocsin.net.guard import EgressPolicy
from tocsin.notify.apprise import AppriseProvider, validate_apprise_url
from tocsin.notify.types import Message, Outcome

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def provider() -> AppriseProvider:
    return AppriseProvider(policy=EgressPolicy(deny_private=False))  # the default policy allows loopback


def message(to: str, **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "idempotency_key": "notif:1",
        "to": to,
        "subject": "[CRITICAL] Database down",
        "body": "db-1 is not answering.",
        "data": {"links": {"ack": "https://tocsin.test/a/1"}},
        "created_at": CREATED,
    }
    values.update(overrides)
    return Message(**values)


@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every address a socket connects to during the test (requests/urllib3 dial this way)."""
    calls: list[object] = []
    real = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        calls.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return calls


def test_a_json_url_delivers_title_and_body(receiver: Receiver, provider: AppriseProvider) -> None:
    result = provider.send(message(f"json://127.0.0.1:{receiver.port}/hooks/apprise"))

    assert result.outcome is Outcome.delivered, result.detail
    assert result.detail == "sent by Apprise (scheme json://)"
    [post] = receiver.posts
    assert post.path == "/hooks/apprise"
    payload = json.loads(post.body)
    assert payload["title"] == "[CRITICAL] Database down"
    assert payload["message"] == "db-1 is not answering."


def test_an_ntfy_url_to_a_self_hosted_server_delivers(receiver: Receiver, provider: AppriseProvider) -> None:
    result = provider.send(message(f"ntfy://127.0.0.1:{receiver.port}/oncall-db"))

    assert result.outcome is Outcome.delivered, result.detail
    [post] = receiver.posts
    payload = json.loads(post.body)
    assert payload["topic"] == "oncall-db"
    assert payload["title"] == "[CRITICAL] Database down"
    assert payload["message"] == "db-1 is not answering."


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("nosuchservice://s3cr3t-token-value@host/path", "not an Apprise service tocsin can check (scheme "
                                                         "nosuchservice://); use one of apprise, apprises, discord, "
                                                         "form, forms, gotify, gotifys, json, jsons, mmost, mmosts, "
                                                         "ntfy, ntfys, pover, rocket, rockets, slack, tgram, xml, "
                                                         "xmls"),
        ("discord://only-an-id-s3cr3t", "not a valid Apprise URL (scheme discord://)"),
        ("just some words s3cr3t", "not a valid Apprise URL (no scheme)"),
        ("", "no Apprise URL given"),
    ],
)
def test_an_invalid_url_is_permanent_and_not_echoed(provider: AppriseProvider, to: str, expected: str) -> None:
    result = provider.send(message(to))

    assert result.outcome is Outcome.permanent
    assert result.detail == expected
    assert "s3cr3t" not in result.detail


def test_several_urls_in_one_destination_are_permanent(receiver: Receiver, provider: AppriseProvider) -> None:
    url = f"json://127.0.0.1:{receiver.port}/a"

    result = provider.send(message(f"{url}, {url}"))

    assert result.outcome is Outcome.permanent
    assert "one Apprise URL per destination" in result.detail
    assert receiver.posts == []


@pytest.mark.parametrize("status", [500, 503, 429, 404])
def test_a_receiver_failure_is_retryable_and_says_the_status_apprise_logged(
    receiver: Receiver, provider: AppriseProvider, status: int
) -> None:
    receiver.status, receiver.reply_body = status, b"internal-answer-9d2e"
    to = f"json://alice:pa55w0rd-secret@127.0.0.1:{receiver.port}/hook?:key=tok3n-secret"

    result = provider.send(message(to))

    assert result.outcome is Outcome.retryable
    assert f"answered HTTP {status} " in result.detail
    assert "internal-answer" not in result.detail  # the far end's reply is never repeated
    assert "Apprise does not say whether trying again could help" in result.detail
    assert "pa55w0rd" not in result.detail and "tok3n" not in result.detail
    assert len(receiver.posts) == 1  # one attempt: retrying is the engine's decision


def test_a_closed_port_is_retryable(provider: AppriseProvider) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    result = provider.send(message(f"json://127.0.0.1:{port}/hook"))

    assert result.outcome is Outcome.retryable
    assert "could not connect" in result.detail


def test_an_unresolvable_host_is_retryable(provider: AppriseProvider) -> None:
    result = provider.send(message("json://no-such-host.invalid/hook"))

    assert result.outcome is Outcome.retryable
    assert "could not resolve no-such-host.invalid" in result.detail


def test_a_metadata_address_is_permanent_without_connecting(provider: AppriseProvider, dialled: list[object]) -> None:
    result = provider.send(message("json://169.254.169.254/latest/meta-data/"))

    assert result.outcome is Outcome.permanent
    assert "egress policy" in result.detail and "169.254.169.254 is a cloud metadata address" in result.detail
    assert dialled == []


@pytest.mark.parametrize("scheme", ["json", "xml", "form", "ntfy", "gotify", "mmost", "apprise"])
def test_a_refused_host_is_permanent_for_every_self_hosted_scheme(receiver: Receiver, scheme: str) -> None:
    strict = AppriseProvider(policy=EgressPolicy(deny_private=True))

    result = strict.send(message(f"{scheme}://localhost:{receiver.port}/some-token-or-topic"))

    assert result.outcome is Outcome.permanent, result.detail
    assert "localhost resolves to" in result.detail and "loopback" in result.detail
    assert receiver.connections == 0


def test_a_redirect_is_not_followed_even_when_the_url_asks(receiver: Receiver, provider: AppriseProvider) -> None:
    with Receiver() as elsewhere:
        receiver.status = 302
        receiver.reply_headers = {"Location": elsewhere.url()}

        result = provider.send(message(f"json://127.0.0.1:{receiver.port}/hook?redirect=yes"))

        assert result.outcome is Outcome.retryable
        assert "answered HTTP 302" in result.detail
        assert len(receiver.posts) == 1
        assert elsewhere.connections == 0


def test_a_token_in_the_host_slot_is_not_looked_up(provider: AppriseProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    # discord://{webhook_id}/{webhook_token}: the "host" is an id; resolving it would hand it
    # to the DNS resolver (and "123456789" would even parse as an IPv4 address).
    looked_up: list[str] = []

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple]:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "no DNS in this test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    result = provider.send(message("discord://123456789/webhook-token-s3cr3t"))

    assert result.outcome is Outcome.retryable  # Discord itself is unreachable here
    assert "123456789" not in looked_up
    assert looked_up and all(host.endswith("discord.com") for host in looked_up)
    assert "s3cr3t" not in result.detail


@pytest.mark.parametrize(
    ("url", "policy", "error"),
    [
        ("json://hooks.example.com/tocsin", None, None),
        ("jsons://user:pass@hooks.example.com:8443/x", None, None),
        ("ntfy://oncall-topic", None, None),  # ntfy.sh: no host of the user's choosing
        ("discord://123456789/abcdefToken", None, None),
        ("tgram://123456789:ABCdefghijklmnopqrstuvwxyz0123456789/-100123", None, None),
        ("json://127.0.0.1:8080/x", EgressPolicy(deny_private=False), None),
        ("json://127.0.0.1:8080/x", None, "loopback"),  # the default policy refuses private ranges
        ("json://2130706433:8080/x", None, "loopback"),
        ("mailto://user:pass@example.com?smtp=127.0.0.1", EgressPolicy(deny_private=False),
         "not an Apprise service tocsin can check (scheme mailto://)"),
        ("matrix://user:pass@matrix.example/#room", None, "not an Apprise service tocsin can check"),
        ("json://169.254.169.254/", None, "cloud metadata address"),
        ("gotify://metadata.google.internal/token", None, "cloud metadata hostname"),
        ("nosuchservice://s3cr3t@x", None, "not an Apprise service tocsin can check (scheme nosuchservice://)"),
        ("json://a.example/x json://b.example/y", None, "one Apprise URL per destination"),
        ("", None, "no Apprise URL given"),
    ],
)
def test_validate_apprise_url(url: str, policy: EgressPolicy | None, error: str | None) -> None:
    found = validate_apprise_url(url, policy=policy)

    if error is None:
        assert found is None
    else:
        assert found is not None and error in found
        assert "s3cr3t" not in found


def test_validation_does_not_touch_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: object, **kwargs: object) -> list[tuple]:
        raise AssertionError("validation looked a name up")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    assert validate_apprise_url("json://hooks.example.com/tocsin") is None


def test_a_token_in_the_host_slot_is_masked_in_the_detail(
    provider: AppriseProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple]:
        raise socket.gaierror(socket.EAI_NONAME, "no DNS in this test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    bot_token = "123456789:ABCdefghijklmnopqrstuvwxyz0123456789"

    result = provider.send(message(f"tgram://{bot_token}/-100123456"))

    assert result.outcome is Outcome.retryable
    assert "ABCdefghijklmnopqrstuvwxyz0123456789" not in result.detail
    assert "123456789" not in result.detail
