"""What Slack sends to an app, for tests of tocsin's inbound Slack handlers: signed request bodies.

    body = slash_command("declare checkout is down", response_url=slack.response_url())
    client.post("/slack/commands", content=body, headers=signed(SECRET, body, ts))

`sign(secret, body, timestamp)` computes the headers exactly as Slack signs a request
(`X-Slack-Signature: v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the
signing secret, `X-Slack-Request-Timestamp`); `signed(...)` adds the Content-Type that goes
with the body. The builders return raw bodies with the field names of Slack's payloads
(the integrations wire-format reference, §1.2-1.4): a slash command (form fields), interactivity
(`payload=` URL-encoded JSON: block_actions, view_submission, message_action) and Events API
envelopes (JSON: url_verification, event_callback with reaction_added, pin_added,
member_joined_channel). Ids default to the fake Slack's (team T0FAKE001, the first user U0001,
the provider's channel C0FAKE0001 "alerts").
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from tests.harness.slack import CHANNEL, CHANNEL_NAME, TEAM

APP = "A0FAKEAPP"
USER = "U0001"
TEAM_DOMAIN = "tocsin-test"
LEGACY_TOKEN = "verificationTokenNotUsed"  # deprecated verification token: the signature is what counts
TRIGGER_ID = "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The X-Slack-Signature and X-Slack-Request-Timestamp headers Slack sends with `body`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def signed(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """`sign`'s headers plus the Content-Type of `body` (JSON for Events API envelopes, else a form)."""
    content_type = JSON if body.lstrip().startswith(b"{") else FORM
    return {**sign(secret, body, timestamp), "Content-Type": content_type}


def retry_headers(num: int, reason: str = "http_timeout") -> dict[str, str]:
    """The headers of the Events API's `num`-th redelivery of an event."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}


def _team() -> dict[str, str]:
    return {"id": TEAM, "domain": TEAM_DOMAIN}


def _user(user: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}


def _interactive(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# -- slash commands (§1.2) ---------------------------------------------------------------------


def slash_command(text: str = "", *, command: str = "/incident", user: str = USER, channel: str = CHANNEL,
                  channel_name: str = CHANNEL_NAME, response_url: str = "https://hooks.slack.com/commands/x",
                  trigger_id: str = TRIGGER_ID) -> bytes:
    """A slash command's form body (`text` is what follows the command)."""
    return urlencode({
        "token": LEGACY_TOKEN, "team_id": TEAM, "team_domain": TEAM_DOMAIN, "channel_id": channel,
        "channel_name": channel_name, "user_id": user, "user_name": user.lower(), "command": command,
        "text": text, "api_app_id": APP, "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": trigger_id,
    }).encode()


# -- interactivity (§1.3) ----------------------------------------------------------------------


def block_actions(action_id: str, value: str = "", *, user: str = USER, channel: str = CHANNEL,
                  channel_name: str = CHANNEL_NAME, message_ts: str = "1700000000.000100",
                  message_text: str = "", block_id: str = "b1", button_text: str = "",
                  response_url: str = "https://hooks.slack.com/actions/x", trigger_id: str = TRIGGER_ID,
                  action_ts: str = "1700000100.000001") -> bytes:
    """A button click (`block_actions`) on a message in a channel."""
    return _interactive({
        "type": "block_actions", "user": _user(user), "api_app_id": APP, "token": LEGACY_TOKEN,
        "trigger_id": trigger_id, "team": _team(),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": channel_name},
        "message": {"type": "message", "ts": message_ts, "text": message_text, "user": "U0FAKEBOT"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block_id, "type": "button", "value": value,
                     "action_ts": action_ts, "text": {"type": "plain_text", "text": button_text or action_id}}],
    })


def view_submission(callback_id: str, values: dict[str, dict[str, Any]], *, user: str = USER,
                    private_metadata: str = "", view_id: str = "V0001", trigger_id: str = TRIGGER_ID) -> bytes:
    """A modal's submission. `values` is {block_id: {action_id: value}}; a str value is a
    plain_text_input's, a dict is used as it is (a select's `selected_option`, say)."""
    state = {block: {action: value if isinstance(value, dict) else {"type": "plain_text_input", "value": value}
                     for action, value in actions.items()}
             for block, actions in values.items()}
    return _interactive({
        "type": "view_submission", "team": _team(), "user": _user(user), "api_app_id": APP, "token": LEGACY_TOKEN,
        "trigger_id": trigger_id, "response_urls": [],
        "view": {"id": view_id, "team_id": TEAM, "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "hash": f"1700000000.{view_id}",
                 "title": {"type": "plain_text", "text": "tocsin"}, "blocks": [], "state": {"values": state}},
    })


def message_action(callback_id: str = "declare_from_msg", *, message_ts: str = "1700000000.000100",
                   message_text: str = "", message_user: str = USER, user: str = USER, channel: str = CHANNEL,
                   channel_name: str = CHANNEL_NAME, response_url: str = "https://hooks.slack.com/app/x",
                   trigger_id: str = TRIGGER_ID, action_ts: str = "1700000100.000002") -> bytes:
    """A message shortcut (`message_action`) on the message `message_ts`."""
    return _interactive({
        "type": "message_action", "callback_id": callback_id, "trigger_id": trigger_id, "action_ts": action_ts,
        "team": _team(), "user": _user(user), "api_app_id": APP, "token": LEGACY_TOKEN,
        "channel": {"id": channel, "name": channel_name}, "message_ts": message_ts,
        "message": {"type": "message", "text": message_text, "user": message_user, "ts": message_ts},
        "response_url": response_url,
    })


# -- Events API (§1.4) -------------------------------------------------------------------------


def url_verification(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> bytes:
    """The handshake Slack sends when the events URL is saved: reply 200 with `challenge`."""
    return json.dumps({"token": LEGACY_TOKEN, "challenge": challenge, "type": "url_verification"}).encode()


def event_callback(event: dict[str, Any], *, event_id: str = "Ev0FAKE0001", event_time: int = 1700000100,
                   user: str = USER) -> bytes:
    """An Events API envelope around `event` (current shape, with `authorizations`)."""
    return json.dumps({
        "token": LEGACY_TOKEN, "team_id": TEAM, "api_app_id": APP, "event": event, "type": "event_callback",
        "event_id": event_id, "event_time": event_time,
        "authorizations": [{"team_id": TEAM, "user_id": user, "is_bot": False, "is_enterprise_install": False}],
    }).encode()


def reaction_added(reaction: str, *, ts: str, channel: str = CHANNEL, user: str = USER,
                   item_user: str = "U0FAKEBOT", event_ts: str = "1700000100.000003") -> dict[str, Any]:
    """`user` reacted with :reaction: to the message `ts` (wrap it with `event_callback`)."""
    return {"type": "reaction_added", "user": user, "reaction": reaction,
            "item": {"type": "message", "channel": channel, "ts": ts}, "item_user": item_user, "event_ts": event_ts}


def pin_added(*, ts: str, text: str = "", channel: str = CHANNEL, user: str = USER, message_user: str = USER,
              event_ts: str = "1700000100.000004") -> dict[str, Any]:
    """`user` pinned the message `ts` (wrap it with `event_callback`)."""
    return {"type": "pin_added", "user": user, "channel_id": channel,
            "item": {"type": "message", "channel": channel, "created": 1700000100, "created_by": user,
                     "message": {"type": "message", "text": text, "user": message_user, "ts": ts}},
            "event_ts": event_ts}


def member_joined_channel(*, user: str = USER, channel: str = CHANNEL, inviter: str | None = None,
                          event_ts: str = "1700000100.000005") -> dict[str, Any]:
    """`user` joined `channel` (wrap it with `event_callback`)."""
    event = {"type": "member_joined_channel", "user": user, "channel": channel, "channel_type": "C", "team": TEAM,
             "event_ts": event_ts}
    if inviter:
        event["inviter"] = inviter
    return event


class SlackSender:
    """Slack's side of the conversation with a running tocsin (`client`: a TestClient on the app): slash
    commands, form submissions, interactions and events, each signed with `secret` at the clock's time."""

    def __init__(self, client: Any, clock: Any, fake: Any, secret: str) -> None:
        self.client, self.clock, self.fake, self.secret = client, clock, fake, secret
        self.triggers = 0
        self.events = 0

    def post(self, path: str, body: bytes, content_type: str, **headers: str) -> Any:
        ts = int(self.clock.now().timestamp())
        return self.client.post(path, content=body, headers={"Content-Type": content_type,
                                                             **sign(self.secret, body, ts), **headers})

    def command(self, user: str, text: str, *, channel: str = CHANNEL, trigger: str | None = None,
                **headers: str) -> Any:
        self.triggers += 1
        body = slash_command(text, user=user, channel=channel, response_url=self.fake.response_url(),
                             trigger_id=trigger or f"1000{self.triggers}.4744.{self.triggers:032x}")
        return self.post("/integrations/slack/commands", body, FORM, **headers)

    def said(self, user: str, text: str, **kwargs: Any) -> Any:
        r = self.command(user, text, **kwargs)
        assert r.status_code == 200, r.text
        return r.json()

    def interact(self, payload: dict[str, Any], **headers: str) -> Any:
        return self.post("/integrations/slack/interactive", urlencode({"payload": json.dumps(payload)}).encode(), FORM,
                         **headers)

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any], **headers: str) -> Any:
        body = view_submission("tocsin_declare", {block: {"value": v} for block, v in values.items()}, user=user,
                               view_id=view["id"], private_metadata=view["private_metadata"])
        return self.post("/integrations/slack/interactive", body, FORM, **headers)

    def event(self, body: bytes, **headers: str) -> Any:
        return self.post("/integrations/slack/events", body, JSON, **headers)

    def react(self, user: str, reaction: str, *, channel: str, ts: str) -> Any:
        """`user` adds :reaction: to the message `ts` (an Events API delivery with a new event id)."""
        self.events += 1
        return self.event(event_callback(reaction_added(reaction, ts=ts, channel=channel, user=user),
                                         event_id=f"Ev0SENT{self.events:05d}", user=user))
