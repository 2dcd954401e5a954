"""The SMS and voice provider through the real `twilio` library against a fake Twilio API.

The fake (tests/harness/twilio.py) listens on 127.0.0.1 and speaks Twilio's wire format, so
the library really authenticates, form-encodes and parses replies; what the fake records
is what crossed the wire, and outcomes are mapped from real HTTP answers.
"""

from __future__ import annotations

import base64
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from tests.harness.twilio import FakeTwilio
from tocsin.notify.twilio import TwilioProvider, parse_status_callback, verify_twilio_signature
from tocsin.notify.types import Message, Outcome

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SENDER = "+15005550006"
ONCALL = "+14155550123"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as f:
        yield f


def provider(fake: FakeTwilio, **options: Any) -> TwilioProvider:
    token = options.pop("auth_token", fake.auth_token)
    return TwilioProvider(fake.account_sid, token, SENDER, fake.url, **options)


def message(to: str = ONCALL, body: str = "[CRITICAL] db-1 is not answering.", key: str = "notif:1") -> Message:
    return Message(
        idempotency_key=key, to=to, subject="[CRITICAL] Database down", body=body, data={}, created_at=CREATED
    )


def test_an_sms_is_delivered_with_its_sid(fake: FakeTwilio) -> None:
    sms = provider(fake, status_callback="https://tocsin.test/inbound/twilio/status")

    result = sms.send(message())

    assert result.outcome is Outcome.delivered, result.detail
    assert result.detail == "queued"
    [received] = fake.received
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.provider_id or "")
    assert result.provider_id == received.sid
    assert received.resource == "Messages"
    assert (received.to, received.from_, received.body) == (ONCALL, SENDER, "[CRITICAL] db-1 is not answering.")
    assert received.form["StatusCallback"] == "https://tocsin.test/inbound/twilio/status"
    # the library did the HTTP: Basic auth with SID:token, a form-encoded body
    credentials = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
    assert received.headers["Authorization"] == f"Basic {credentials}"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.headers["User-Agent"].startswith("twilio-python/")
    assert received.headers["I-Twilio-Idempotency-Token"] == "notif:1"
    assert sms.name == "sms"


def test_a_voice_call_says_the_escaped_text_twice(fake: FakeTwilio) -> None:
    text = "disk <90% & load > 5 on db-1"
    voice = provider(fake, kind="voice")

    result = voice.send(message(body=text))

    assert result.outcome is Outcome.delivered, result.detail
    assert re.fullmatch(r"CA[0-9a-f]{32}", result.provider_id or "")
    [received] = fake.received
    assert received.resource == "Calls"
    assert (received.to, received.from_) == (ONCALL, SENDER)
    twiml = received.twiml or ""
    assert "disk &lt;90% &amp; load &gt; 5 on db-1" in twiml
    assert text not in twiml
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    assert [(el.tag, el.text) for el in root] == [("Say", text), ("Pause", None), ("Say", text)]
    assert voice.name == "voice"


def test_a_long_sms_is_cut_to_1600_characters(fake: FakeTwilio) -> None:
    result = provider(fake).send(message(body="x" * 2000))

    assert result.outcome is Outcome.delivered, result.detail
    [received] = fake.received
    assert received.body is not None
    assert len(received.body) == 1600
    assert received.body.endswith("…")


def test_a_long_voice_text_stays_within_twilios_twiml_limit(fake: FakeTwilio) -> None:
    result = provider(fake, kind="voice").send(message(body="a & b " * 1000))

    assert result.outcome is Outcome.delivered, result.detail
    [received] = fake.received
    assert received.twiml is not None
    assert len(received.twiml) <= 4000
    says = [el.text or "" for el in ET.fromstring(received.twiml).iter("Say")]
    assert len(says) == 2 and says[0] == says[1] and says[0].startswith("a & b a & b")


def test_an_invalid_number_is_permanent_with_twilios_code(fake: FakeTwilio) -> None:
    result = provider(fake).send(message(to="+15005550001"))

    assert result.outcome is Outcome.permanent
    assert "21211" in result.detail and "+15005550001" in result.detail
    assert [r.status for r in fake.received] == [400]


@pytest.mark.parametrize(
    ("status", "code", "text", "outcome"),
    [
        (400, 21610, "Attempt to send to unsubscribed recipient", Outcome.permanent),
        (400, 21614, "'To' number is not a valid mobile number", Outcome.permanent),
        (404, 20404, "The requested resource was not found", Outcome.permanent),
        (429, 20429, "Too Many Requests", Outcome.retryable),
        (500, 20500, "Internal Server Error", Outcome.retryable),
        (502, 20502, "Bad Gateway", Outcome.retryable),
    ],
)
def test_twilio_errors_map_to_outcomes(fake: FakeTwilio, status: int, code: int, text: str, outcome: Outcome) -> None:
    fake.fail_next(1, status, code, text)

    result = provider(fake).send(message())

    assert result.outcome is outcome
    assert str(code) in result.detail and text in result.detail and f"HTTP {status}" in result.detail
    assert len(fake.received) == 1  # one attempt: retrying is the engine's decision


def test_fail_next_only_fails_that_many_requests(fake: FakeTwilio) -> None:
    fake.fail_next(2, 503, 20503, "Service Unavailable")
    sms = provider(fake)

    outcomes = [sms.send(message()).outcome for _ in range(3)]

    assert outcomes == [Outcome.retryable, Outcome.retryable, Outcome.delivered]


def test_a_wrong_auth_token_is_permanent_and_the_token_is_not_reported(fake: FakeTwilio) -> None:
    token = "wrong-token-5f0c2e"

    result = provider(fake, auth_token=token).send(message())

    assert result.outcome is Outcome.permanent
    assert "20003" in result.detail and "TOCSIN_TWILIO_AUTH_TOKEN" in result.detail
    assert token not in result.detail and token not in repr(provider(fake, auth_token=token))
    assert fake.unauthorized == 1 and fake.received == []


def test_twilio_down_is_retryable(fake: FakeTwilio) -> None:
    fake.down = True

    result = provider(fake).send(message())

    assert result.outcome is Outcome.retryable
    assert "HTTP 503" in result.detail


def test_a_refused_connection_is_retryable(fake: FakeTwilio) -> None:
    sms = provider(fake)
    fake.stop()

    result = sms.send(message())

    assert result.outcome is Outcome.retryable
    assert "connection failed" in result.detail


def test_a_closed_port_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    result = TwilioProvider("AC" + "0" * 32, "token", SENDER, f"http://127.0.0.1:{port}").send(message())

    assert result.outcome is Outcome.retryable
    assert "connection failed" in result.detail


def test_a_slow_twilio_times_out_retryable(fake: FakeTwilio) -> None:
    fake.delay = 1.0

    result = provider(fake, timeout=0.2).send(message())

    assert result.outcome is Outcome.retryable
    assert "timed out" in result.detail


@pytest.mark.parametrize("to", ["4155550123", "+0123", "ops@example.com", "+1 415 555 0123", ""])
def test_a_number_that_is_not_e164_is_permanent_without_a_request(fake: FakeTwilio, to: str) -> None:
    result = provider(fake).send(message(to=to))

    assert result.outcome is Outcome.permanent
    assert "E.164" in result.detail
    assert fake.received == [] and fake.unauthorized == 0


@pytest.mark.parametrize(
    ("args", "options", "error"),
    [
        (("AC1", "", SENDER), {}, "auth token"),
        (("", "token", SENDER), {}, "account SID"),
        (("AC1", "token", ""), {}, "sender"),
        (("AC1", "token", SENDER), {"kind": "fax"}, "kind"),
        (("AC1", "token", SENDER, "ftp://twilio.test"), {}, "base URL"),
        (("AC1", "token", SENDER, "api.twilio.com"), {}, "base URL"),
        (("AC1", "token", SENDER), {"timeout": 0}, "timeout"),
    ],
)
def test_bad_configuration_is_refused(args: tuple[str, ...], options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        TwilioProvider(*args, **options)


URL = "https://tocsin.example.com/inbound/twilio/sms?team=db"
PARAMS = {"MessageSid": "SM" + "ab" * 16, "From": ONCALL, "To": SENDER, "Body": "ACK 42"}


@pytest.mark.parametrize(
    ("case", "token", "url", "params", "valid"),
    [
        ("as signed", "secret-token", URL, PARAMS, True),
        ("tampered body", "secret-token", URL, PARAMS | {"Body": "RESOLVE 42"}, False),
        ("added param", "secret-token", URL, PARAMS | {"Extra": "1"}, False),
        ("other URL", "secret-token", URL.replace("team=db", "team=web"), PARAMS, False),
        ("wrong token", "other-token", URL, PARAMS, False),
    ],
)
def test_verify_twilio_signature(case: str, token: str, url: str, params: dict[str, str], valid: bool) -> None:
    signature = RequestValidator("secret-token").compute_signature(URL, PARAMS)

    assert verify_twilio_signature(token, url, params, signature) is valid, case


def test_a_missing_signature_is_rejected() -> None:
    assert verify_twilio_signature("secret-token", URL, PARAMS, "") is False


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"MessageSid": "SM1", "MessageStatus": "delivered", "ErrorCode": ""}, ("SM1", "delivered", None)),
        ({"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30003"}, ("SM2", "undelivered", "30003")),
        ({"SmsSid": "SM3", "SmsStatus": "sent"}, ("SM3", "sent", None)),
        ({"CallSid": "CA1", "CallStatus": "no-answer"}, ("CA1", "no-answer", None)),
    ],
)
def test_parse_status_callback(params: dict[str, str], expected: tuple[str, str, str | None]) -> None:
    assert parse_status_callback(params) == expected


def test_a_status_callback_without_a_sid_is_refused() -> None:
    with pytest.raises(ValueError, match="status callback"):
        parse_status_callback({"MessageStatus": "delivered"})
