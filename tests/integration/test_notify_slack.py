"""The Slack provider against a fake Slack on 127.0.0.1, through the real slack_sdk clients.

The Web API client is pointed at the fake with `base_url`; incoming webhooks are plain URLs
on the fake. The fake records each request as parsed from the wire, so the blocks checked are
the blocks Slack would have received, and it counts accepted connections, so "refused before
connecting" is observed too.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient

from tests.harness.slack import CHANNEL, FIRST_TS, TOKEN, WEBHOOK_PATH, FakeSlack
from tocsin.net.guard import EgressPolicy
from tocsin.notify.slack import NO_TOKEN, SlackProvider
from tocsin.notify.types import Message, Outcome

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LINKS = {
    "ack": "https://tocsin.test/a/1/ack",
    "resolve": "https://tocsin.test/a/1/resolve",
    "view": "https://tocsin.test/a/1",
}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def provider(slack: FakeSlack) -> SlackProvider:
    # The default policy allows loopback, where the fake listens (as in the webhook tests).
    return SlackProvider(TOKEN, slack.api_url, policy=EgressPolicy(deny_private=False), timeout=5)


def message(to: str, **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "idempotency_key": "notif:1",
        "to": to,
        "subject": "[CRITICAL] Database down",
        "body": "db-1 is not answering.",
        "data": {"alert_id": "a1", "severity": "critical", "links": LINKS},
        "created_at": CREATED,
    }
    values.update(overrides)
    return Message(**values)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """Button label → URL, from the actions block."""
    [actions] = [b for b in blocks if b["type"] == "actions"]
    return {e["text"]["text"]: e["url"] for e in actions["elements"]}


# -- Web API -----------------------------------------------------------------------------------


def test_a_channel_message_is_posted_with_blocks_and_buttons(slack: FakeSlack, provider: SlackProvider) -> None:
    result = provider.send(message(CHANNEL))

    assert result.outcome is Outcome.delivered, result.detail
    assert result.provider_id == FIRST_TS
    assert FIRST_TS in result.detail
    [request] = slack.received
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.payload["channel"] == CHANNEL
    assert request.text == "[CRITICAL] Database down\ndb-1 is not answering."
    section = request.blocks[0]
    assert section == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*[CRITICAL] Database down*\ndb-1 is not answering."},
    }
    assert buttons(request.blocks) == {
        "Acknowledge": LINKS["ack"],
        "Resolve": LINKS["resolve"],
        "Open": LINKS["view"],
    }


def test_each_send_gets_its_own_ts(slack: FakeSlack, provider: SlackProvider) -> None:
    first, second = provider.send(message(CHANNEL)), provider.send(message(CHANNEL))

    assert first.provider_id == FIRST_TS
    assert second.provider_id is not None and second.provider_id > FIRST_TS


def test_user_text_is_escaped_for_mrkdwn(slack: FakeSlack, provider: SlackProvider) -> None:
    result = provider.send(
        message(CHANNEL, subject="<script>alert(1)</script> & <!channel>", body="see <https://evil.test|here>")
    )

    assert result.outcome is Outcome.delivered, result.detail
    [request] = slack.received
    section = request.blocks[0]["text"]["text"]
    assert section == (
        "*&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;*\nsee &lt;https://evil.test|here&gt;"
    )
    assert "<" not in request.text and ">" not in request.text
    assert "&lt;!channel&gt;" in request.text


def test_links_that_are_not_urls_are_left_out_and_unknown_keys_get_a_label(
    slack: FakeSlack, provider: SlackProvider
) -> None:
    links = {"ack": "javascript:alert(1)", "runbook_page": "https://wiki.test/runbook", "view": None}
    result = provider.send(message(CHANNEL, data={"links": links}))

    assert result.outcome is Outcome.delivered, result.detail
    assert buttons(slack.received[0].blocks) == {"Runbook page": "https://wiki.test/runbook"}


def test_no_links_means_no_actions_block(slack: FakeSlack, provider: SlackProvider) -> None:
    provider.send(message(CHANNEL, data={}))

    assert [b["type"] for b in slack.received[0].blocks] == ["section"]


def test_a_huge_body_is_cut_to_fit_a_section(slack: FakeSlack, provider: SlackProvider) -> None:
    result = provider.send(message(CHANNEL, body="x" * 10_000))

    assert result.outcome is Outcome.delivered, result.detail
    assert len(slack.received[0].blocks[0]["text"]["text"]) <= 3000


def test_an_unknown_channel_is_permanent(slack: FakeSlack, provider: SlackProvider) -> None:
    result = provider.send(message("C0NOSUCHCHAN"))

    assert result.outcome is Outcome.permanent
    assert "channel_not_found" in result.detail


def test_rate_limiting_is_retryable_with_retry_after(slack: FakeSlack, provider: SlackProvider) -> None:
    slack.ratelimit_next(retry_after=42)

    result = provider.send(message(CHANNEL))

    assert result.outcome is Outcome.retryable
    assert "ratelimited" in result.detail
    assert "Retry-After: 42" in result.detail
    assert len(slack.received) == 1  # one attempt: retrying is the engine's decision


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (200, "not_in_channel", Outcome.permanent),
        (200, "is_archived", Outcome.permanent),
        (200, "account_inactive", Outcome.permanent),
        (200, "token_revoked", Outcome.permanent),
        (200, "msg_too_long", Outcome.permanent),
        (200, "missing_scope", Outcome.permanent),
        (200, "fatal_error", Outcome.retryable),
        (200, "internal_error", Outcome.retryable),
        (200, "service_unavailable", Outcome.retryable),
        (500, None, Outcome.retryable),
        (503, None, Outcome.retryable),
        (502, "fatal_error", Outcome.retryable),
        (429, "ratelimited", Outcome.retryable),
        (404, None, Outcome.permanent),
    ],
)
def test_api_errors_map_to_outcomes(
    slack: FakeSlack, provider: SlackProvider, status: int, error: str | None, outcome: Outcome
) -> None:
    slack.fail_next_api(1, status, error)

    result = provider.send(message(CHANNEL))

    assert result.outcome is outcome, result.detail
    assert f"HTTP {status}" in result.detail
    if error:
        assert error in result.detail
    assert len(slack.received) == 1


def test_a_bad_token_is_permanent_and_not_echoed(slack: FakeSlack) -> None:
    secret = "xoxb-0000-wrong-and-secret"
    result = SlackProvider(secret, slack.api_url, policy=EgressPolicy(deny_private=False)).send(message(CHANNEL))

    assert result.outcome is Outcome.permanent
    assert "invalid_auth" in result.detail
    assert secret not in result.detail and "xoxb" not in result.detail
    assert secret not in repr(SlackProvider(secret, slack.api_url))


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token_is_permanent_for_channels_without_any_request(slack: FakeSlack, token: str | None) -> None:
    result = SlackProvider(token, slack.api_url).send(message(CHANNEL))

    assert result.outcome is Outcome.permanent
    assert result.detail == NO_TOKEN
    assert slack.received == [] and slack.connections == 0


@pytest.mark.parametrize("to", ["", "general channel", "ftp://files.test/x", "mailto:ops@example.com"])
def test_a_destination_that_is_neither_channel_nor_webhook_is_permanent(
    slack: FakeSlack, provider: SlackProvider, to: str
) -> None:
    result = provider.send(message(to))

    assert result.outcome is Outcome.permanent
    assert slack.received == []


def test_an_unreachable_api_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    result = SlackProvider(TOKEN, f"http://127.0.0.1:{port}/api/").send(message(CHANNEL))

    assert result.outcome is Outcome.retryable
    assert "unreachable" in result.detail and "Connection" in result.detail


def test_a_slow_api_times_out_retryable(slack: FakeSlack) -> None:
    slack.delay = 1.0

    result = SlackProvider(TOKEN, slack.api_url, timeout=0.2).send(message(CHANNEL))

    assert result.outcome is Outcome.retryable
    assert "timed out" in result.detail.lower() or "timeout" in result.detail.lower()


def test_the_fake_accepts_form_encoded_calls_too(slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    response = client.api_call(
        "chat.postMessage", params={"channel": CHANNEL, "text": "hi", "blocks": '[{"type": "divider"}]'}
    )

    assert response["ok"] and response["ts"] == FIRST_TS
    [request] = slack.received
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.payload == {"channel": CHANNEL, "text": "hi", "blocks": [{"type": "divider"}]}


# -- incoming webhooks -------------------------------------------------------------------------


def test_a_webhook_message_is_delivered(slack: FakeSlack, provider: SlackProvider) -> None:
    result = provider.send(message(slack.webhook_url()))

    assert result.outcome is Outcome.delivered, result.detail
    assert result.detail == "Slack webhook HTTP 200 OK"
    [request] = slack.received
    assert request.path == WEBHOOK_PATH
    assert "Authorization" not in request.headers  # the bot token never goes to a webhook host
    assert request.text == "[CRITICAL] Database down\ndb-1 is not answering."
    assert buttons(request.blocks)["Acknowledge"] == LINKS["ack"]


def test_webhooks_work_without_a_bot_token(slack: FakeSlack) -> None:
    result = SlackProvider(None, policy=EgressPolicy(deny_private=False)).send(message(slack.webhook_url()))

    assert result.outcome is Outcome.delivered, result.detail


def test_an_unknown_webhook_is_permanent_and_the_url_is_not_echoed(slack: FakeSlack, provider: SlackProvider) -> None:
    result = provider.send(message(slack.webhook_url("/services/T000/B000/GONE")))

    assert result.outcome is Outcome.permanent
    assert result.detail == "Slack webhook HTTP 404 Not Found: no_service (the webhook was disabled or removed)"
    assert "GONE" not in result.detail


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (400, "invalid_payload", Outcome.permanent),
        (403, "action_prohibited", Outcome.permanent),
        (404, "no_service", Outcome.permanent),
        (410, "channel_is_archived", Outcome.permanent),
        (429, "rate_limited", Outcome.retryable),
        (500, "rollup_error", Outcome.retryable),
        (503, "service unavailable", Outcome.retryable),
    ],
)
def test_webhook_statuses_map_to_outcomes(
    slack: FakeSlack, provider: SlackProvider, status: int, body: str, outcome: Outcome
) -> None:
    slack.fail_next_webhook(1, status, body)

    result = provider.send(message(slack.webhook_url()))

    assert result.outcome is outcome, result.detail
    assert result.detail.startswith(f"Slack webhook HTTP {status} ")
    # Slack's own error codes are named; other text from the far end is not repeated.
    assert (f": {body} (" in result.detail) == (" " not in body)
    assert len(slack.received) == 1


def test_webhook_rate_limiting_reports_retry_after(slack: FakeSlack, provider: SlackProvider) -> None:
    slack.fail_next_webhook(1, 429, "rate_limited", headers={"Retry-After": "7"})

    result = provider.send(message(slack.webhook_url()))

    assert result.outcome is Outcome.retryable
    assert "Retry-After: 7" in result.detail


def test_a_webhook_redirect_is_not_followed(slack: FakeSlack, provider: SlackProvider) -> None:
    # urllib on its own would follow this 302 as a GET to the metadata service.
    slack.fail_next_webhook(1, 302, "", headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    result = provider.send(message(slack.webhook_url()))

    assert result.outcome is Outcome.permanent
    assert "HTTP 302" in result.detail and "redirect not followed" in result.detail
    assert len(slack.received) == 1


def test_a_webhook_to_a_metadata_address_is_permanent_without_connecting(
    provider: SlackProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[object] = []
    real = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connects.append(a) or real(*a, **k))

    result = provider.send(message("http://169.254.169.254/services/T000/B000/XXXX"))

    assert result.outcome is Outcome.permanent
    assert "egress policy" in result.detail and "169.254.169.254 is a cloud metadata address" in result.detail
    assert connects == []


def test_a_webhook_name_resolving_to_a_refused_address_is_blocked(slack: FakeSlack) -> None:
    # "localhost" passes the name check; its address is refused when the connection is made.
    strict = SlackProvider(None, policy=EgressPolicy(deny_private=True))

    result = strict.send(message(slack.webhook_url(host="localhost")))

    assert result.outcome is Outcome.permanent
    assert "loopback" in result.detail
    assert slack.connections == 0


def test_a_webhook_proxy_in_the_environment_is_not_used(
    slack: FakeSlack, provider: SlackProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect on our behalf, and the guard would only ever see the proxy.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    result = provider.send(message(slack.webhook_url()))

    assert result.outcome is Outcome.delivered, result.detail


def test_an_unreachable_webhook_is_retryable(provider: SlackProvider) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    result = provider.send(message(f"http://127.0.0.1:{port}/services/T000/B000/XXXX"))

    assert result.outcome is Outcome.retryable
    assert "ConnectionRefusedError" in result.detail
    assert "XXXX" not in result.detail


def test_a_slow_webhook_times_out_retryable(slack: FakeSlack) -> None:
    slack.delay = 1.0

    result = SlackProvider(None, policy=EgressPolicy(deny_private=False), timeout=0.2).send(message(slack.webhook_url()))

    assert result.outcome is Outcome.retryable
    assert "timed out" in result.detail.lower() or "timeout" in result.detail.lower()


@pytest.mark.parametrize("to", ["https://", "http://hooks.test:notaport/services/x"])
def test_a_malformed_webhook_url_is_permanent(provider: SlackProvider, to: str) -> None:
    result = provider.send(message(to))

    assert result.outcome is Outcome.permanent
    assert "invalid Slack webhook URL" in result.detail
