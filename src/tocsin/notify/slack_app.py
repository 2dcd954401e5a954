"""The Slack app's Web API client: what chat-ops asks of Slack (channels, posts, users, modals).

`SlackApp` implements `tocsin.notify.chat_types.ChatClient` with slack_sdk's `WebClient`
(the bot token, `settings.slack_base_url`, 5 s timeouts, no retry handlers: retrying is the
chat outbox's decision), plus what the inbound handlers need: `post(..., thread_ts=)` (a
thread reply), `update` (chat.update of the bot's own message), `unarchive`, `react`
(reactions.add), `message` (one message by ts, thread replies included), `open_view` (a modal,
for a trigger_id) and `respond` (a slash command's or an action's `response_url`).

Every call returns a `ChatResult` and never raises for Slack's failure: 429 (or `ratelimited`)
is retryable with Slack's Retry-After, HTTP 5xx and Slack's transient codes are retryable,
other refusals are permanent with Slack's short code in `error`, network failures are
retryable and named by type only. A refusal that means the work is already done counts as
delivered, with the code in `error`: `already_in_channel` (invite), `already_archived`
(archive), `not_archived` (unarchive), `already_reacted` (react).

A `response_url` arrives in a payload, so `respond` posts only to https://hooks.slack.com/ or
to the origin of the configured Web API (the local stand-in in tests); anything else is refused
without a request.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.slack_response import SlackResponse
from slack_sdk.webhook import WebhookClient

from tocsin.config import Settings
from tocsin.notify.chat_types import ChatClient, ChatResult
from tocsin.notify.slack_errors import HINTS, api_failure, network_kind, retry_after_seconds
from tocsin.notify.types import Outcome, retry_after_words, status_words

DEFAULT_BASE_URL = "https://slack.com/api/"
NO_TOKEN = "no Slack bot token configured (set TOCSIN_SLACK_BOT_TOKEN)"
RESPONSE_HOST = "hooks.slack.com"
TIMEOUT = 5  # seconds, each connect and each read

TOPIC_CHARS = 250  # conversations.setTopic refuses longer topics (too_long)
INVITE_BATCH = 100  # conversations.invite takes at most this many users per call

_HINTS = {
    **HINTS,
    "missing_scope": "the Slack app lacks a scope this call needs (see the app manifest)",
    "name_taken": "a channel of that name exists (perhaps archived)",
    "restricted_action": "a workspace setting stops the bot from doing this",
    "users_not_found": "no Slack user has that email address",
    "user_not_found": "no such Slack user",
    "expired_trigger_id": "the trigger expired (Slack allows 3 seconds)",
}
_RESPONSE_ERRORS = {"used_url", "expired_url", "invalid_payload", "no_text", "invalid_blocks"}


def _ok(detail: str, **data: Any) -> ChatResult:
    return ChatResult(Outcome.delivered, detail, data=data)


class SlackApp:
    """The Slack Web API for chat-ops, with the bot token; every method returns a ChatResult."""

    platform = "slack"

    def __init__(self, bot_token: str | None, base_url: str = DEFAULT_BASE_URL, *, timeout: int = TIMEOUT) -> None:
        self._token = (bot_token or "").strip() or None
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self._client: WebClient | None = None
        if self._token is not None:
            # retry_handlers=[]: one attempt per call; retries and backoff are the chat outbox's.
            self._client = WebClient(token=self._token, base_url=self.base_url, timeout=timeout, retry_handlers=[])

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: int = TIMEOUT) -> SlackApp:
        """A client for `settings.slack_bot_token` and `settings.slack_base_url`."""
        return cls(settings.slack_bot_token, settings.slack_base_url, timeout=timeout)

    def __repr__(self) -> str:
        return f"SlackApp(base_url={self.base_url!r}, bot_token={'set' if self._token else 'unset'})"

    # -- the ChatClient contract ---------------------------------------------------------------

    def create_channel(self, name: str, *, private: bool) -> ChatResult:
        """conversations.create; data {channel_id, name} (the name Slack kept)."""
        response = self._call("conversations.create",
                              lambda c: c.conversations_create(name=name, is_private=private))
        if isinstance(response, ChatResult):
            return response
        channel = response.get("channel") or {}
        channel_id, kept = str(channel.get("id") or ""), str(channel.get("name") or name)
        if not channel_id:
            return ChatResult(Outcome.retryable, "Slack conversations.create: no channel id in the reply")
        kind = "private channel" if private else "channel"
        return _ok(f"created {kind} #{kept} ({channel_id})", channel_id=channel_id, name=kept)

    def set_topic(self, channel: str, topic: str) -> ChatResult:
        """conversations.setTopic, the topic cut to Slack's 250 characters."""
        if len(topic) > TOPIC_CHARS:
            topic = topic[: TOPIC_CHARS - 1] + "…"
        response = self._call("conversations.setTopic",
                              lambda c: c.conversations_setTopic(channel=channel, topic=topic))
        return response if isinstance(response, ChatResult) else _ok(f"topic set on {channel}")

    def add_bookmark(self, channel: str, title: str, link: str) -> ChatResult:
        """bookmarks.add of a link; data {bookmark_id} when Slack gave one."""
        response = self._call("bookmarks.add",
                              lambda c: c.bookmarks_add(channel_id=channel, title=title, type="link", link=link))
        if isinstance(response, ChatResult):
            return response
        bookmark = response.get("bookmark") or {}
        data = {"bookmark_id": str(bookmark["id"])} if bookmark.get("id") else {}
        return _ok(f"bookmark added to {channel}", **data)

    def invite(self, channel: str, users: list[str]) -> ChatResult:
        """conversations.invite, at most 100 users a call (force: the valid ones are invited even if
        others fail); users already in the channel count as invited."""
        wanted = list(dict.fromkeys(u for u in users if u))
        for start in range(0, len(wanted), INVITE_BATCH):
            response = self._call("conversations.invite",
                                  _inviting(channel, wanted[start: start + INVITE_BATCH]),
                                  tolerate={"already_in_channel"})
            if isinstance(response, ChatResult) and not response.ok:
                return response
        return _ok(f"invited {len(wanted)} user(s) to {channel}" if wanted else "nobody to invite")

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, *,
             thread_ts: str | None = None) -> ChatResult:
        """chat.postMessage (text is the notification fallback), in a thread when `thread_ts`;
        data {ts, channel}. Links are not unfurled: Slack would fetch them and show what it got."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False, "unfurl_media": False}
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = self._call("chat.postMessage", lambda c: c.chat_postMessage(**kwargs))
        if isinstance(response, ChatResult):
            return response
        ts, where = str(response.get("ts") or ""), str(response.get("channel") or channel)
        return _ok(f"posted to {where} (ts {ts})", ts=ts, channel=where)

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> ChatResult:
        """chat.update of the bot's message `ts` (e.g. its buttons gone once acknowledged); data {ts, channel}."""
        kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        response = self._call("chat.update", lambda c: c.chat_update(**kwargs))
        if isinstance(response, ChatResult):
            return response
        return _ok(f"updated {ts} in {channel}", ts=ts, channel=str(response.get("channel") or channel))

    def post_ephemeral(self, channel: str, user: str, text: str) -> ChatResult:
        """chat.postEphemeral: a message only `user` sees; data {ts}."""
        response = self._call("chat.postEphemeral",
                              lambda c: c.chat_postEphemeral(channel=channel, user=user, text=text))
        if isinstance(response, ChatResult):
            return response
        ts = str(response.get("message_ts") or "")
        return _ok(f"shown to {user} in {channel}", ts=ts)

    def archive(self, channel: str) -> ChatResult:
        """conversations.archive; an already archived channel counts as archived."""
        response = self._call("conversations.archive", lambda c: c.conversations_archive(channel=channel),
                              tolerate={"already_archived"})
        return response if isinstance(response, ChatResult) else _ok(f"archived {channel}")

    def unarchive(self, channel: str) -> ChatResult:
        """conversations.unarchive (an incident reopened); a channel not archived counts as done."""
        response = self._call("conversations.unarchive", lambda c: c.conversations_unarchive(channel=channel),
                              tolerate={"not_archived"})
        return response if isinstance(response, ChatResult) else _ok(f"unarchived {channel}")

    def react(self, channel: str, ts: str, emoji: str) -> ChatResult:
        """reactions.add of :emoji: to the message `ts` (e.g. a message captured to the timeline);
        a reaction already there counts as added."""
        response = self._call("reactions.add", lambda c: c.reactions_add(channel=channel, timestamp=ts,
                                                                         name=emoji.strip(":")),
                              tolerate={"already_reacted"})
        return response if isinstance(response, ChatResult) else _ok(f"reacted :{emoji.strip(':')}: to {ts}")

    def lookup_by_email(self, email: str) -> ChatResult:
        """users.lookupByEmail; data {user_id}; `users_not_found` is permanent."""
        response = self._call("users.lookupByEmail", lambda c: c.users_lookupByEmail(email=email))
        if isinstance(response, ChatResult):
            return response
        user_id = str((response.get("user") or {}).get("id") or "")
        if not user_id:
            return ChatResult(Outcome.retryable, "Slack users.lookupByEmail: no user id in the reply")
        return _ok(f"found Slack user {user_id}", user_id=user_id)

    def user_email(self, user: str) -> ChatResult:
        """users.info; data {email, team_id} when the profile shows an email (users:read.email) that
        can name a tocsin user, else no email; `name` (the Slack display name) whenever Slack shows one. No email not for a deactivated account, a bot, a Slack Connect
        stranger (another organisation sets its members' emails), or an email Slack has not confirmed."""
        response = self._call("users.info", lambda c: c.users_info(user=user))
        if isinstance(response, ChatResult):
            return response
        found = response.get("user")
        found = found if isinstance(found, dict) else {}
        profile = found.get("profile") or {}
        profile = profile if isinstance(profile, dict) else {}
        # the name people see in Slack (chosen by the user: a label, never an identity)
        name = next((str(v).strip() for v in (profile.get("display_name"), profile.get("real_name"), found.get("name"))
                     if isinstance(v, str) and v.strip()), "")
        named = {"name": name} if name else {}
        if found.get("deleted") or found.get("is_bot") or found.get("is_stranger") \
                or found.get("is_email_confirmed") is False:
            return _ok(f"{user} shows no usable email address", **named)
        email = profile.get("email")
        if isinstance(email, str) and email.strip():
            return _ok(f"email of {user} read", email=email.strip(), team_id=str(found.get("team_id") or ""), **named)
        return _ok(f"{user} shows no email address", **named)

    # -- what the inbound handlers need --------------------------------------------------------

    def message(self, channel: str, ts: str) -> ChatResult:
        """The message `ts` in `channel` (a thread reply too); data {text, user, ts} (`user` is None
        when Slack names none: a webhook's or an integration's message). Not found is permanent with error `message_not_found`."""
        response = self._call("conversations.history", lambda c: c.conversations_history(
            channel=channel, latest=ts, inclusive=True, limit=1))
        if isinstance(response, ChatResult):
            return response
        found = _message_at(response, ts)
        if found is None:  # history lists only a thread's parent: a reply is read from its thread
            response = self._call("conversations.replies", lambda c: c.conversations_replies(
                channel=channel, ts=ts, latest=ts, oldest=ts, inclusive=True))
            if isinstance(response, ChatResult) and response.error != "thread_not_found":
                return response
            found = None if isinstance(response, ChatResult) else _message_at(response, ts)
        if found is None:
            return ChatResult(Outcome.permanent, f"Slack: no message {ts} in {channel} (message_not_found)",
                              error="message_not_found")
        user = found.get("user")
        return _ok(f"read message {ts} in {channel}", text=str(found.get("text") or ""),
                   user=str(user) if user else None, ts=ts)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> ChatResult:
        """views.open of a modal for a trigger (Slack allows 3 s after the click); data {view_id}."""
        response = self._call("views.open", lambda c: c.views_open(trigger_id=trigger_id, view=view))
        if isinstance(response, ChatResult):
            return response
        view_id = str((response.get("view") or {}).get("id") or "")
        return _ok("modal opened", **({"view_id": view_id} if view_id else {}))

    def respond(self, response_url: str, body: dict[str, Any]) -> ChatResult:
        """POST `body` (JSON: text, blocks, response_type, replace_original...) to a response_url,
        only if it is Slack's (https://hooks.slack.com/) or on the configured API's origin."""
        if not self._trusted_response_url(response_url):
            return ChatResult(Outcome.permanent, "response_url refused: not a Slack URL")
        client = WebhookClient(response_url, timeout=self.timeout, retry_handlers=[])
        try:
            response = client.send_dict(body)
        except SlackRequestError as exc:
            return ChatResult(Outcome.permanent, f"Slack response_url refused by the client ({type(exc).__name__})")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return ChatResult(Outcome.retryable, f"Slack response_url unreachable ({network_kind(exc)})")
        status, code = response.status_code, (response.body or "").strip()
        error = code if code in _RESPONSE_ERRORS else None
        detail = f"Slack response_url {status_words(status)}" + (f": {error}" if error else "")
        if 200 <= status < 300:
            return _ok(detail)
        if status in (408, 425, 429) or status >= 500:
            headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
            value = headers.get("retry-after")
            header = str(value[0] if isinstance(value, list) and value else value or "")
            return ChatResult(Outcome.retryable, detail + retry_after_words(header), error,
                              retry_after_seconds(header))
        return ChatResult(Outcome.permanent, detail, error)  # 404 used_url / expired_url, 400 ...

    # -- plumbing ------------------------------------------------------------------------------

    def _trusted_response_url(self, url: str) -> bool:
        try:
            parts, api = urlsplit(url.strip()), urlsplit(self.base_url)
            port, api_port = parts.port, api.port
        except ValueError:
            return False
        if parts.username is not None or parts.password is not None or not parts.hostname:
            return False
        scheme, host = parts.scheme.lower(), parts.hostname.lower()
        if scheme == "https" and host == RESPONSE_HOST and port in (None, 443):
            return True
        return (scheme, host, port) == (api.scheme.lower(), (api.hostname or "").lower(), api_port)

    def _call(self, method: str, call: Callable[[WebClient], SlackResponse], *,
              tolerate: set[str] | None = None) -> SlackResponse | ChatResult:
        """Make one Web API call: Slack's reply, or a ChatResult saying why there is none.
        A refusal whose code is in `tolerate` is a delivered ChatResult carrying the code."""
        if self._client is None:
            return ChatResult(Outcome.permanent, NO_TOKEN)
        try:
            return call(self._client)
        except SlackApiError as exc:
            failure = api_failure(exc.response, label=f"Slack {method}", hints=_HINTS)
            if failure.error is not None and failure.error in (tolerate or set()):
                return ChatResult(Outcome.delivered, f"Slack {method}: {failure.error}", error=failure.error)
            return ChatResult(failure.outcome, failure.detail, failure.error, failure.retry_after)
        except SlackRequestError as exc:
            return ChatResult(Outcome.permanent, f"Slack {method} refused by the client ({type(exc).__name__})")
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
            # URLError, timeouts, resets, bad status lines; only the type: the text can quote the far end.
            return ChatResult(Outcome.retryable, f"Slack API unreachable ({network_kind(exc)})")


def _inviting(channel: str, users: list[str]) -> Callable[[WebClient], SlackResponse]:
    return lambda client: client.conversations_invite(channel=channel, users=users, force=True)


def _message_at(response: SlackResponse, ts: str) -> dict[str, Any] | None:
    for message in response.get("messages") or []:
        if isinstance(message, dict) and message.get("ts") == ts:
            return message
    return None


if TYPE_CHECKING:  # mypy checks here that SlackApp keeps the chat outbox's contract
    _CONTRACT: ChatClient = SlackApp(None)
