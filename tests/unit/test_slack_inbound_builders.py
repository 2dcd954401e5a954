"""The test harness's Slack senders (tests/harness/slack_inbound.py) sign and shape bodies as Slack does.

The signature is checked against Slack's published example and against slack_sdk's own
verifier; the builders against the field names of Slack's payloads.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from tests.harness import slack_inbound as inbound

# Slack's "verifying requests" example, as in slack_sdk's test suite.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class _At(Clock):
    def now(self) -> float:
        return float(TIMESTAMP)


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def payload(body: bytes) -> dict[str, Any]:
    fields = form(body)
    assert list(fields) == ["payload"]
    parsed: dict[str, Any] = json.loads(fields["payload"])
    return parsed


def test_sign_reproduces_slacks_published_example() -> None:
    assert inbound.sign(SECRET, BODY, TIMESTAMP) == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": EXPECTED,
    }


def test_slack_sdks_verifier_accepts_every_signed_builder() -> None:
    verifier = SignatureVerifier(SECRET, clock=_At())
    bodies = [
        inbound.slash_command("declare checkout is down"),
        inbound.block_actions("tocsin_ack", "inc-42"),
        inbound.view_submission("declare", {"title": {"value": "Checkout down ünïcode"}}),
        inbound.message_action(message_text="5xx since 09:12"),
        inbound.url_verification(),
        inbound.event_callback(inbound.reaction_added("eyes", ts="1700000000.000100")),
    ]
    for body in bodies:
        headers = inbound.signed(SECRET, body, TIMESTAMP)
        assert verifier.is_valid_request(body, headers), body
        assert not verifier.is_valid_request(body + b" ", headers)
        assert not SignatureVerifier("another-secret", clock=_At()).is_valid_request(body, headers)


def test_signed_says_which_content_type() -> None:
    assert inbound.signed(SECRET, inbound.slash_command(), 1)["Content-Type"] == inbound.FORM
    assert inbound.signed(SECRET, inbound.url_verification(), 1)["Content-Type"] == inbound.JSON


def test_a_slash_command_has_slacks_form_fields() -> None:
    fields = form(inbound.slash_command("declare db down", user="U0002", response_url="http://x/commands/1"))

    assert fields["command"] == "/incident" and fields["text"] == "declare db down"
    assert fields["user_id"] == "U0002" and fields["response_url"] == "http://x/commands/1"
    assert {"token", "team_id", "team_domain", "channel_id", "channel_name", "api_app_id", "trigger_id",
            "is_enterprise_install"} <= fields.keys()


def test_interactivity_payloads_have_slacks_shapes() -> None:
    click = payload(inbound.block_actions("tocsin_ack", "inc-42", message_ts="1700000000.000200"))
    assert click["type"] == "block_actions" and click["user"]["id"] == inbound.USER
    assert click["container"] == {"type": "message", "message_ts": "1700000000.000200",
                                  "channel_id": "C0FAKE0001", "is_ephemeral": False}
    [action] = click["actions"]
    assert (action["action_id"], action["value"], action["type"]) == ("tocsin_ack", "inc-42", "button")

    select = {"type": "static_select", "selected_option": {"value": "sev1"}}
    submitted = payload(inbound.view_submission("declare", {"title": {"value": "db down"}, "sev": {"pick": select}},
                                                private_metadata="C0002"))
    assert submitted["type"] == "view_submission" and submitted["view"]["callback_id"] == "declare"
    assert submitted["view"]["private_metadata"] == "C0002"
    assert submitted["view"]["state"]["values"] == {
        "title": {"value": {"type": "plain_text_input", "value": "db down"}}, "sev": {"pick": select}}

    shortcut = payload(inbound.message_action(message_ts="1700000000.000300", message_text="5xx", message_user="U0002"))
    assert shortcut["type"] == "message_action" and shortcut["callback_id"] == "declare_from_msg"
    assert shortcut["message_ts"] == "1700000000.000300" and shortcut["channel"]["id"] == "C0FAKE0001"
    assert shortcut["message"] == {"type": "message", "text": "5xx", "user": "U0002", "ts": "1700000000.000300"}


def test_events_api_envelopes_have_slacks_shapes() -> None:
    assert json.loads(inbound.url_verification("abc")) == {
        "token": inbound.LEGACY_TOKEN, "challenge": "abc", "type": "url_verification"}

    envelope = json.loads(inbound.event_callback(
        inbound.reaction_added("eyes", ts="1700000000.000100", channel="C0002"), event_id="Ev1"))
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    assert envelope["event"]["item"] == {"type": "message", "channel": "C0002", "ts": "1700000000.000100"}
    assert envelope["authorizations"][0]["team_id"] == envelope["team_id"]

    pin = inbound.pin_added(ts="1700000000.000100", text="root cause", channel="C0002")
    assert pin["type"] == "pin_added" and pin["channel_id"] == "C0002"
    assert pin["item"]["message"]["text"] == "root cause"

    joined = inbound.member_joined_channel(user="U0003", channel="C0002", inviter="U0001")
    assert (joined["type"], joined["user"], joined["channel"], joined["inviter"]) == (
        "member_joined_channel", "U0003", "C0002", "U0001")
    assert inbound.retry_headers(2) == {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
