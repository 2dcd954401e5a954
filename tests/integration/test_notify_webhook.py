"""The webhook provider against a real local HTTP receiver, through the guarded client.

The receiver (the harness's `Receiver`, http.server in a thread) records each POST with its raw
body and answers with a status the test sets, so signatures are checked on the bytes that crossed
the wire and the outcome mapping is observed from real responses. It counts accepted connections,
so "refused before connecting" is observed too.
"""

from __future__ import annotations

import http.server
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.harness.webhook import LocalServer, Receiver
from tocsin.clock import ManualClock
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client
from tocsin.notify.types import Message, Outcome
from tocsin.notify.webhook import WebhookProvider, sign, verify_webhook

SECRET = "whsec-test-0123456789"
CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 31, 7, tzinfo=UTC))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(EgressPolicy(deny_private=False), timeout=5) as c:
        yield c


def message(to: str, key: str = "notif:1", **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "idempotency_key": key,
        "to": to,
        "subject": "[CRITICAL] Database down",
        "body": "db-1 is not answering.",
        "data": {"alert_id": "a1", "severity": "critical", "links": {"ack": "https://tocsin.test/a/1"}},
        "created_at": CREATED,
    }
    values.update(overrides)
    return Message(**values)


def test_a_delivery_posts_signed_json(receiver: Receiver, client: httpx.Client, clock: ManualClock) -> None:
    result = WebhookProvider(client, SECRET, clock=clock).send(message(receiver.url()))

    assert result.outcome is Outcome.delivered, result.detail
    assert result.detail == "HTTP 200 OK"  # the status in tocsin's words; the reply ("ok") is not kept
    [post] = receiver.posts
    assert post.path == "/hooks/tocsin"
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["Idempotency-Key"] == "notif:1"
    assert post.headers["X-Tocsin-Timestamp"] == str(int(clock.now().timestamp()))
    assert json.loads(post.body) == {
        "id": "notif:1",
        "created_at": "2026-03-01T09:30:00+00:00",
        "subject": "[CRITICAL] Database down",
        "body": "db-1 is not answering.",
        "data": {"alert_id": "a1", "severity": "critical", "links": {"ack": "https://tocsin.test/a/1"}},
    }
    expected = "v1=" + sign(SECRET, post.headers["X-Tocsin-Timestamp"], post.body)
    assert post.headers["X-Tocsin-Signature"] == expected
    assert verify_webhook(
        SECRET, post.body, post.headers["X-Tocsin-Timestamp"], post.headers["X-Tocsin-Signature"], now=clock.now()
    )


def test_a_retry_keeps_the_idempotency_key_and_is_signed_afresh(
    receiver: Receiver, client: httpx.Client, clock: ManualClock
) -> None:
    provider = WebhookProvider(client, SECRET, clock=clock)
    provider.send(message(receiver.url()))
    clock.advance(minutes=10)  # backoff longer than the replay window
    provider.send(message(receiver.url()))

    first, second = receiver.posts
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "notif:1"
    assert first.headers["X-Tocsin-Signature"] != second.headers["X-Tocsin-Signature"]
    h = second.headers
    assert verify_webhook(SECRET, second.body, h["X-Tocsin-Timestamp"], h["X-Tocsin-Signature"], now=clock.now())


def _tamper_body(body: bytes, ts: str, sig: str) -> tuple[bytes, str, str]:
    return body.replace(b"critical", b"info"), ts, sig


def _other_timestamp(body: bytes, ts: str, sig: str) -> tuple[bytes, str, str]:
    return body, str(int(ts) + 1), sig


@pytest.mark.parametrize(
    ("case", "change", "now_offset", "secret", "valid"),
    [
        ("as sent", None, 0, SECRET, True),
        ("tampered body", _tamper_body, 0, SECRET, False),
        ("timestamp swapped under the same signature", _other_timestamp, 0, SECRET, False),
        ("wrong secret", None, 0, "another-secret", False),
        ("received 299 s later", None, 299, SECRET, True),
        ("received 300 s later (edge of the window)", None, 300, SECRET, True),
        ("stale: replayed 301 s later", None, 301, SECRET, False),
        ("stale: an hour later", None, 3600, SECRET, False),
        ("from 301 s in the future", None, -301, SECRET, False),
        ("garbage timestamp", lambda b, t, s: (b, "yesterday", s), 0, SECRET, False),
        ("empty signature", lambda b, t, s: (b, t, ""), 0, SECRET, False),
        ("unknown version", lambda b, t, s: (b, t, s.replace("v1=", "v0=")), 0, SECRET, False),
        ("rotation: one of several matches", lambda b, t, s: (b, t, "v1=" + "0" * 64 + ", " + s), 0, SECRET, True),
    ],
)
def test_verify_webhook(
    receiver: Receiver,
    client: httpx.Client,
    clock: ManualClock,
    case: str,
    change: Any,
    now_offset: int,
    secret: str,
    valid: bool,
) -> None:
    WebhookProvider(client, SECRET, clock=clock).send(message(receiver.url()))
    [post] = receiver.posts
    body, ts, sig = post.body, post.headers["X-Tocsin-Timestamp"], post.headers["X-Tocsin-Signature"]
    if change is not None:
        body, ts, sig = change(body, ts, sig)

    now = clock.now() + timedelta(seconds=now_offset)
    assert verify_webhook(secret, body, ts, sig, now=now) is valid, case


def test_the_replay_window_is_configurable() -> None:
    sent = datetime(2026, 3, 1, tzinfo=UTC)
    ts = str(int(sent.timestamp()))
    sig = "v1=" + sign(SECRET, ts, b"{}")
    later = sent + timedelta(seconds=90)
    assert not verify_webhook(SECRET, b"{}", ts, sig, now=later, tolerance_seconds=60)
    assert verify_webhook(SECRET, b"{}", ts, sig, now=later, tolerance_seconds=120)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.delivered),
        (202, Outcome.delivered),
        (204, Outcome.delivered),
        (500, Outcome.retryable),
        (502, Outcome.retryable),
        (503, Outcome.retryable),
        (429, Outcome.retryable),
        (408, Outcome.retryable),
        (404, Outcome.permanent),
        (400, Outcome.permanent),
        (401, Outcome.permanent),
        (410, Outcome.permanent),
        (301, Outcome.permanent),
    ],
)
def test_statuses_map_to_outcomes(receiver: Receiver, client: httpx.Client, status: int, outcome: Outcome) -> None:
    receiver.status = status
    receiver.reply_body = b"" if status == 204 else b"receiver says\nhello"

    result = WebhookProvider(client, SECRET).send(message(receiver.url()))

    assert result.outcome is outcome
    assert result.detail.startswith(f"HTTP {status}")
    assert "receiver says" not in result.detail and "hello" not in result.detail  # never the remote's reply
    assert ("not followed" in result.detail) == (300 <= status < 400)
    assert len(receiver.posts) == 1  # one attempt: retrying is the engine's decision


def test_retry_after_is_reported(receiver: Receiver, client: httpx.Client) -> None:
    receiver.status, receiver.reply_headers = 429, {"Retry-After": "30"}

    result = WebhookProvider(client, SECRET).send(message(receiver.url()))

    assert result.outcome is Outcome.retryable
    assert "Retry-After: 30 s" in result.detail


def test_retry_after_text_is_not_repeated(receiver: Receiver, client: httpx.Client) -> None:
    receiver.status, receiver.reply_headers = 503, {"Retry-After": "secret-from-inside"}

    result = WebhookProvider(client, SECRET).send(message(receiver.url()))

    assert result.outcome is Outcome.retryable
    assert result.detail == "HTTP 503 Service Unavailable"


class _ChattyReason(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(403, "internal-token-abc123")  # a reason phrase is free text too
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_remotes_reason_phrase_is_replaced_by_the_standard_one(client: httpx.Client) -> None:
    with LocalServer(_ChattyReason) as server:
        result = WebhookProvider(client, SECRET).send(message(f"http://127.0.0.1:{server.port}/hook"))

    assert result.detail == "HTTP 403 Forbidden"


def test_a_huge_reply_is_cut_short_in_the_detail(receiver: Receiver, client: httpx.Client) -> None:
    receiver.status, receiver.reply_body = 400, b"x" * 1_000_000

    result = WebhookProvider(client, SECRET).send(message(receiver.url()))

    assert result.outcome is Outcome.permanent
    assert result.detail == "HTTP 400 Bad Request"


def test_a_metadata_address_is_permanent_without_any_request() -> None:
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(200))
    with make_client(EgressPolicy(deny_private=False), transport=transport) as guarded:
        result = WebhookProvider(guarded, SECRET).send(message("http://169.254.169.254/latest/meta-data/"))

    assert result.outcome is Outcome.permanent
    assert "egress policy" in result.detail and "metadata" in result.detail
    assert calls == []


def test_a_metadata_address_is_permanent_through_the_real_guarded_transport(client: httpx.Client) -> None:
    result = WebhookProvider(client, SECRET).send(message("http://169.254.169.254/latest/meta-data/"))

    assert result.outcome is Outcome.permanent
    assert "169.254.169.254 is a cloud metadata address" in result.detail


def test_a_name_resolving_to_a_refused_address_is_blocked_at_connect(receiver: Receiver) -> None:
    # "localhost" passes the name check; its address is refused by the connect-time check.
    with make_client(EgressPolicy(deny_private=True), timeout=5) as strict:
        result = WebhookProvider(strict, SECRET).send(message(receiver.url("localhost")))

    assert result.outcome is Outcome.permanent
    assert "loopback" in result.detail
    assert receiver.connections == 0


def test_a_closed_port_is_retryable(client: httpx.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    result = WebhookProvider(client, SECRET).send(message(f"http://127.0.0.1:{port}/hook"))

    assert result.outcome is Outcome.retryable
    assert "ConnectError" in result.detail


def test_a_slow_receiver_times_out_retryable(receiver: Receiver) -> None:
    receiver.delay = 1.0
    with make_client(EgressPolicy(deny_private=False), timeout=0.2) as impatient:
        result = WebhookProvider(impatient, SECRET).send(message(receiver.url()))

    assert result.outcome is Outcome.retryable
    assert "timed out" in result.detail


@pytest.mark.parametrize("to", ["not a url", "ftp://example.com/hook", "mailto:ops@example.com"])
def test_an_unusable_url_is_permanent(client: httpx.Client, to: str) -> None:
    result = WebhookProvider(client, SECRET).send(message(to))

    assert result.outcome is Outcome.permanent
    assert "invalid webhook URL" in result.detail


def test_data_that_is_not_json_is_permanent(receiver: Receiver, client: httpx.Client) -> None:
    result = WebhookProvider(client, SECRET).send(message(receiver.url(), data={"x": object()}))

    assert result.outcome is Outcome.permanent
    assert "JSON" in result.detail
    assert receiver.posts == []


def test_an_empty_secret_is_refused(client: httpx.Client) -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookProvider(client, "")


def test_an_arbitrary_json_document_is_posted_signed_with_the_same_outcomes(
    receiver: Receiver, client: httpx.Client, clock: ManualClock
) -> None:
    """`send_json` / `post_json` (status page subscriber webhooks): the document is the body as
    is, signed with the given secret, and classified exactly like `send`."""
    from tocsin.notify.webhook import post_json

    document = {"meta": {"unsubscribe": "https://tocsin.test/u"}, "page": {"name": "Acme"}}
    result = WebhookProvider(client, SECRET, clock=clock).send_json(receiver.url(), "statuspage:1", document,
                                                                    "other-secret")
    assert result.outcome is Outcome.delivered, result.detail
    [post] = receiver.posts
    assert json.loads(post.body) == document and post.headers["Idempotency-Key"] == "statuspage:1"
    assert verify_webhook("other-secret", post.body, post.headers["X-Tocsin-Timestamp"],
                          post.headers["X-Tocsin-Signature"], now=clock.now())

    bad = post_json(client, receiver.url(), "statuspage:2", {"x": object()}, SECRET, now=clock.now())
    assert bad.outcome is Outcome.permanent and "JSON" in bad.detail
    assert len(receiver.posts) == 1

    receiver.status, receiver.reply_body = 500, b"x" * 1_000_000
    failed = post_json(client, receiver.url(), "statuspage:3", document, SECRET, now=clock.now())
    assert failed.outcome is Outcome.retryable
    assert failed.detail == "HTTP 500 Internal Server Error", "the reply is never kept"
