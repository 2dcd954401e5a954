"""Mattermost: the REST API v4 client chat-ops uses, and the provider that pages with buttons.

`MattermostClient` implements `chat_types.ChatClient` over plain HTTP (httpx through tocsin's
egress-guarded client). The server is the operator's (TOCSIN_MATTERMOST_URL), often on a private
network, so it is reached with `net.policy.operator_policy`: private ranges allowed, cloud metadata
and link-local never. Every call returns a `ChatResult` and never raises for Mattermost's failure:

- 429 (Mattermost's opt-in rate limiter, body "limit exceeded"): retryable, `retry_after` from
  Retry-After or X-Ratelimit-Reset (seconds until the limit resets);
- 5xx and network errors: retryable; 4xx: permanent. `error` is Mattermost's error `id`
  (`store.sql_channel.save_channel.exists.app_error`, ...) when it is a short code, and
  `name_taken` for a channel name already in use; the detail is in tocsin's words, never
  Mattermost's `message`.

Mattermost has no channel bookmarks on every edition, so `add_bookmark` posts the link as a
message ("🔖 title: link") and pins it: the channel's pinned list is where people look for it,
and the header stays the topic `set_topic` keeps current.

`post` takes the Slack-style `blocks` of the contract and translates what maps: URL buttons
become links in an attachment (section texts are left out: `text` carries the words).

`MattermostProvider` delivers pages to a contact method of type `mattermost` (a channel id, or
`@username` / `@<user id>` for a direct message from the bot). The post carries an attachment with
interactive buttons (Acknowledge, Resolve, from `message.data["links"]`) whose integration calls
`{public_url}/integrations/mattermost/actions` with the context `{"n": notification id, "a":
action, "sig": HMAC}`; `verify_action_context` checks such a context when Mattermost sends it back.
The Open link is the attachment's title link. Words from alerts are escaped for Mattermost's
markdown and their @-mentions defused, so an alert summary cannot forge a link or ping a channel.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from tocsin.keys import derived_secret
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import make_client
from tocsin.net.policy import operator_policy
from tocsin.notify.chat_types import ChatResult
from tocsin.notify.types import Message, Outcome, Result, status_words

log = logging.getLogger("tocsin.notify.mattermost")

NOT_CONFIGURED = ("Mattermost is not configured (set TOCSIN_MATTERMOST_URL and TOCSIN_MATTERMOST_BOT_TOKEN)")
ACTIONS_PATH = "/integrations/mattermost/actions"
ACTIONS = ("ack", "resolve", "escalate")
BUTTON_LABELS = {"ack": "Acknowledge", "resolve": "Resolve", "escalate": "Escalate"}

# Mattermost's own limits (server/public/model/channel.go, post.go, utils.go).
NAME_CHARS = 64
DISPLAY_NAME_RUNES = 64
HEADER_RUNES = 1024
PURPOSE_RUNES = 250
MESSAGE_RUNES = 16383
_CHANNEL_NAME = re.compile(r"^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$")
_ID = re.compile(r"^[a-z0-9]{26}$")  # Mattermost ids: 26 characters of lowercase base32
_USERNAME = re.compile(r"^[a-z][a-z0-9.\-_]{2,21}$")
_EMAIL = re.compile(r"^[^@\s/?#]+@[^@\s/?#]+$")
_ERROR_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")
_MAX_RETRY_AFTER = 3600.0


def _cut(text: str, runes: int) -> str:
    return text if len(text) <= runes else text[: runes - 1] + "…"


def channel_name(name: str) -> str:
    """`name` made into a valid Mattermost channel name (lowercase, a-z 0-9 - _, at most 64), or ""."""
    cleaned = re.sub(r"[^a-z0-9\-_]+", "-", name.strip().lower())[:NAME_CHARS]
    cleaned = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", cleaned)
    return cleaned if _CHANNEL_NAME.match(cleaned) else ""


def _retry_after(headers: httpx.Headers) -> float | None:
    for name in ("retry-after", "x-ratelimit-reset"):
        value = (headers.get(name) or "").strip()
        try:
            seconds = float(value)
        except ValueError:
            continue
        if 0 <= seconds <= _MAX_RETRY_AFTER:
            return max(seconds, 1.0)
    return None


class MattermostClient:
    """Mattermost's REST API v4 as the chat outbox uses it (called outside any transaction)."""

    platform = "mattermost"

    def __init__(self, base_url: str, bot_token: str, team_id: str, *, policy: EgressPolicy,
                 timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        """`transport` replaces the guarded transport (tests); the host check still applies."""
        self.base_url = base_url.rstrip("/")
        self.team_id = team_id
        self._token = bot_token
        self._http = make_client(policy, timeout=timeout, transport=transport)
        self._me: str | None = None

    @classmethod
    def from_settings(cls, settings: Any, *, timeout: float = 5.0) -> MattermostClient | None:
        """The bot's client when the server and bot token are configured, else None. The server is the
        operator's, often on their own network: private ranges allowed, cloud metadata never."""
        if not (settings.mattermost_url and settings.mattermost_bot_token):
            return None
        return cls(settings.mattermost_url, settings.mattermost_bot_token, settings.mattermost_team_id or "",
                   policy=operator_policy(settings), timeout=timeout)

    def __repr__(self) -> str:
        return f"MattermostClient(base_url={self.base_url!r}, team_id={self.team_id!r}, bot_token=set)"

    def close(self) -> None:
        self._http.close()

    # -- the contract ------------------------------------------------------------------------

    def create_channel(self, name: str, *, private: bool) -> ChatResult:
        """Create a public (O) or private (P) channel in the team; `name_taken` if the name is in use."""
        slug = channel_name(name)
        if not slug:
            return ChatResult(Outcome.permanent, f"not a usable Mattermost channel name: {name!r}", error="invalid_name")
        body = {"team_id": self.team_id, "name": slug, "display_name": _cut(name.strip() or slug, DISPLAY_NAME_RUNES),
                "type": "P" if private else "O"}
        got = self._call("POST", "/channels", "create the channel", json=body)
        if isinstance(got, ChatResult):
            if got.error and "exists" in got.error:
                return ChatResult(Outcome.permanent, f"the channel name {slug} is taken", error="name_taken")
            return got
        return self._ok(f"created channel {slug}", channel_id=got.get("id"), name=got.get("name", slug))

    def set_topic(self, channel: str, topic: str) -> ChatResult:
        """Set the channel's header (at most 1024 runes) and purpose (at most 250) to `topic`."""
        body = {"header": _cut(topic, HEADER_RUNES), "purpose": _cut(topic, PURPOSE_RUNES)}
        got = self._call("PUT", f"/channels/{self._id(channel)}/patch", "set the channel header", json=body)
        return got if isinstance(got, ChatResult) else self._ok("header set", channel_id=channel)

    def add_bookmark(self, channel: str, title: str, link: str) -> ChatResult:
        """Post "🔖 title: link" in the channel and pin it (Mattermost has no bookmarks on every edition)."""
        if not link.lower().startswith(("https://", "http://")):
            return ChatResult(Outcome.permanent, "a bookmark needs an http(s) link", error="invalid_link")
        posted = self.post(channel, f"🔖 [{escape(title)}]({link})")
        if not posted.ok:
            return posted
        post_id = str(posted.data.get("post_id"))
        got = self._call("POST", f"/posts/{self._id(post_id)}/pin", "pin the bookmark post")
        return got if isinstance(got, ChatResult) else self._ok("bookmark posted and pinned", post_id=post_id)

    def invite(self, channel: str, users: list[str]) -> ChatResult:
        """Add `users` (user ids) to the channel; no call for an empty list."""
        if not users:
            return self._ok("nobody to add")
        body = {"user_ids": [self._id(u) for u in users]}
        got = self._call("POST", f"/channels/{self._id(channel)}/members", "add members", json=body)
        return got if isinstance(got, ChatResult) else self._ok(f"added {len(users)} member(s)", channel_id=channel)

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, *,
             props: dict[str, Any] | None = None) -> ChatResult:
        """Post `text` (markdown) with `props` (e.g. attachments); Slack-style `blocks` are translated
        (URL buttons become links in an attachment)."""
        props = dict(props or {})
        links = _block_links(blocks)
        if links:
            props.setdefault("attachments", []).append({"text": " · ".join(links), "fallback": ""})
        body: dict[str, Any] = {"channel_id": self._id(channel), "message": _cut(text, MESSAGE_RUNES)}
        if props:
            body["props"] = props
        got = self._call("POST", "/posts", "post the message", json=body)
        if isinstance(got, ChatResult):
            return got
        return self._ok(f"posted to {channel}", post_id=got.get("id"), channel_id=got.get("channel_id", channel))

    def post_ephemeral(self, channel: str, user: str, text: str) -> ChatResult:
        """Show `text` to `user` alone in the channel."""
        body = {"user_id": self._id(user), "post": {"channel_id": self._id(channel), "message": _cut(text, MESSAGE_RUNES)}}
        got = self._call("POST", "/posts/ephemeral", "post the ephemeral message", json=body)
        return got if isinstance(got, ChatResult) else self._ok("ephemeral message shown", post_id=got.get("id"))

    def is_member(self, channel: str, user: str) -> ChatResult:
        """Delivered if `user` is a member of `channel`; a permanent failure (404) if not."""
        got = self._call("GET", f"/channels/{self._id(channel)}/members/{self._id(user)}", "read the channel member")
        return got if isinstance(got, ChatResult) else self._ok("a member", channel_id=channel, user_id=user)

    def archive(self, channel: str) -> ChatResult:
        """Archive the channel (a soft delete: Mattermost sets its delete_at)."""
        got = self._call("DELETE", f"/channels/{self._id(channel)}", "archive the channel")
        return got if isinstance(got, ChatResult) else self._ok("channel archived", channel_id=channel)

    def lookup_by_email(self, email: str) -> ChatResult:
        """The Mattermost user with this email address: data {user_id}."""
        if not _EMAIL.match(email.strip()):
            return ChatResult(Outcome.permanent, "not an email address", error="invalid_email")
        got = self._call("GET", f"/users/email/{quote(email.strip(), safe='@')}", "look the user up")
        return got if isinstance(got, ChatResult) else self._ok("user found", user_id=got.get("id"))

    def user_email(self, user: str) -> ChatResult:
        """The user's verified email address: data {email} (`email_hidden` when the server does not show it
        to the bot, `email_unverified` when Mattermost has not verified it)."""
        got = self._call("GET", f"/users/{self._id(user)}", "read the user")
        if isinstance(got, ChatResult):
            return got
        email = str(got.get("email") or "")
        if not email:
            return ChatResult(Outcome.permanent, "Mattermost does not show this user's email address to the bot",
                              error="email_hidden")
        if got.get("email_verified") is not True:  # Mattermost omits the flag when it is false
            return ChatResult(Outcome.permanent, "Mattermost has not verified this user's email address",
                              error="email_unverified")
        return self._ok("user read", email=email)

    def message(self, channel: str, post_id: str) -> ChatResult:
        """One post of `channel`: data {text, user, ts} (ts: seconds since the epoch, as a string)."""
        got = self._call("GET", f"/posts/{self._id(post_id)}", "read the post")
        if isinstance(got, ChatResult):
            return got
        if got.get("channel_id") != channel:
            return ChatResult(Outcome.permanent, "the post is not in this channel", error="post_not_in_channel")
        created = int(got.get("create_at") or 0)
        return self._ok("post read", text=str(got.get("message") or ""), user=got.get("user_id"),
                        ts=f"{created / 1000:.3f}", create_at=created)

    # -- beyond the contract: direct messages for pages --------------------------------------

    def me(self) -> ChatResult:
        """The bot's own user id: data {user_id} (asked once, then remembered)."""
        if self._me is None:
            got = self._call("GET", "/users/me", "read the bot's account")
            if isinstance(got, ChatResult):
                return got
            self._me = str(got.get("id") or "")
        return self._ok("bot read", user_id=self._me)

    def user_by_username(self, username: str) -> ChatResult:
        """The user with this username: data {user_id}."""
        got = self._call("GET", f"/users/username/{quote(username, safe='')}", "look the user up")
        return got if isinstance(got, ChatResult) else self._ok("user found", user_id=got.get("id"))

    def direct_channel(self, user: str) -> ChatResult:
        """The direct-message channel between the bot and `user`: data {channel_id}."""
        me = self.me()
        if not me.ok:
            return me
        got = self._call("POST", "/channels/direct", "open a direct message", json=[me.data["user_id"], self._id(user)])
        return got if isinstance(got, ChatResult) else self._ok("direct channel", channel_id=got.get("id"))

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _id(value: str) -> str:
        # Ids go into URL paths: anything but an id's characters is quoted, so it cannot add a segment.
        return quote(str(value), safe="")

    @staticmethod
    def _ok(detail: str, **data: Any) -> ChatResult:
        return ChatResult(Outcome.delivered, detail, data=data)

    def _call(self, method: str, path: str, doing: str, *, json: Any = None) -> dict[str, Any] | ChatResult:
        """Mattermost's JSON answer (a dict) on success, else the failure as a ChatResult."""
        try:
            response = self._http.request(method, f"{self.base_url}/api/v4{path}", json=json,
                                          headers={"Authorization": f"Bearer {self._token}",
                                                   "Accept": "application/json"})
        except Blocked as exc:
            return ChatResult(Outcome.permanent, f"Mattermost is refused by the egress policy: {exc.message}",
                              error="egress_blocked")
        except httpx.HTTPError as exc:  # connect refused, timeouts, resets, protocol errors
            return ChatResult(Outcome.retryable, f"Mattermost unreachable: could not {doing} ({type(exc).__name__})",
                              error="unreachable")
        status = response.status_code
        if 200 <= status < 300:
            try:
                parsed = response.json()
            except ValueError:
                parsed = {}
            return parsed if isinstance(parsed, dict) else {"items": parsed}
        return _failure(response, doing)


def _failure(response: httpx.Response, doing: str) -> ChatResult:
    status = response.status_code
    error: str | None = None
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("id"), str) and _ERROR_ID.match(parsed["id"]):
        error = parsed["id"]
    words = f"Mattermost could not {doing} ({status_words(status)}"
    words += f": {error})" if error else ")"
    if status == 429:
        retry_after = _retry_after(response.headers)
        return ChatResult(Outcome.retryable, words + (f", retry after {retry_after:.0f} s" if retry_after else ""),
                          error=error or "rate_limited", retry_after=retry_after)
    if status >= 500 or status == 408:
        return ChatResult(Outcome.retryable, words, error=error)
    if status in (401, 403):
        words += ": check TOCSIN_MATTERMOST_BOT_TOKEN and the bot's permissions"
    return ChatResult(Outcome.permanent, words, error=error or f"http_{status}")


def _block_links(blocks: list[dict[str, Any]] | None) -> list[str]:
    """Markdown links for the URL buttons of Slack-style `blocks`."""
    links: list[str] = []
    for block in blocks or []:
        if not isinstance(block, dict) or block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            url = element.get("url") if isinstance(element, dict) else None
            label = (element.get("text") or {}).get("text") if isinstance(element, dict) else None
            if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
                links.append(f"[{escape(str(label or 'Open'))}]({url})")
    return links


# -- text from alerts, made safe for Mattermost's markdown --------------------------------------

_MARKDOWN = re.compile(r"([\\`*_\[\]<>#~|])")
_MENTION = re.compile(r"(^|[^\w])([@~])(?=\w)")


def escape(text: str) -> str:
    """`text` with markdown escaped and @-mentions and ~channel links defused (a zero-width space after
    the sign), so words from an alert cannot forge a link or notify a channel."""
    return _MENTION.sub(lambda m: f"{m.group(1)}{m.group(2)}\u200b", _MARKDOWN.sub(r"\\\1", text))


# -- signed button contexts ---------------------------------------------------------------------


def _action_key(server_key: str) -> bytes:
    return derived_secret(server_key, "mattermost-action", "v1").encode()


def action_signature(server_key: str, notification_id: uuid.UUID | str, action: str) -> str:
    """HMAC-SHA256 of "n:a" with a secret derived from the server key."""
    return hmac.new(_action_key(server_key), f"{notification_id}:{action}".encode(), hashlib.sha256).hexdigest()


def action_context(server_key: str, notification_id: uuid.UUID | str, action: str) -> dict[str, str]:
    """The integration context of one button: {"n", "a", "sig"}."""
    return {"n": str(notification_id), "a": action, "sig": action_signature(server_key, notification_id, action)}


def verify_action_context(server_key: str, context: dict[str, Any]) -> tuple[uuid.UUID, str] | None:
    """(notification id, action) if `context` is one tocsin signed, else None (constant-time compare)."""
    if not isinstance(context, dict):
        return None
    n, a, sig = context.get("n"), context.get("a"), context.get("sig")
    if not (isinstance(n, str) and isinstance(a, str) and isinstance(sig, str)) or a not in ACTIONS:
        return None
    try:
        notification_id = uuid.UUID(n)
    except ValueError:
        return None
    if str(notification_id) != n:
        return None
    expected = action_signature(server_key, notification_id, a)
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        return None
    return notification_id, a


# -- the provider -------------------------------------------------------------------------------


def page_props(message: Message, *, server_key: str, public_url: str) -> dict[str, Any]:
    """The post's props: one attachment with the Acknowledge/Resolve (and, for an alert's page, Escalate)
    buttons and the Open title link."""
    data = message.data if isinstance(message.data, dict) else {}
    raw = data.get("links")
    links: dict[str, Any] = raw if isinstance(raw, dict) else {}
    notification_id = data.get("notification_id")
    attachment: dict[str, Any] = {"fallback": message.subject, "color": "#d24b4e",
                                  "title": _cut(escape(message.subject), 250)}
    shown = []
    view = links.get("view")
    if isinstance(view, str) and view.lower().startswith(("https://", "http://")):
        attachment["title_link"] = view
        shown.append(f"[Open in tocsin]({view})")
    for key, url in links.items():  # links without a button (a responder's Decline) stay links
        if key not in (*ACTIONS, "view") and isinstance(url, str) and url.lower().startswith(("https://", "http://")):
            shown.append(f"[{escape(str(key).replace('_', ' ').capitalize())}]({url})")
    if shown:
        attachment["text"] = " · ".join(shown)
    actions = []
    if isinstance(notification_id, str):
        url = f"{public_url.rstrip('/')}{ACTIONS_PATH}"
        for action in ACTIONS:
            # Escalate (the next level now) is for an alert's page; the others where the page has their link
            if action in links or (action == "escalate" and data.get("kind") == "page" and "ack" in links):
                actions.append({"id": f"tocsin{action}", "type": "button", "name": BUTTON_LABELS[action],
                                "style": {"ack": "primary", "resolve": "good"}.get(action, "default"),
                                "integration": {"url": url,
                                                "context": action_context(server_key, notification_id, action)}})
    if actions:
        attachment["actions"] = actions
    return {"attachments": [attachment]}


class MattermostProvider:
    """Posts a page to a Mattermost channel (id) or a user (`@username`, `@<user id>`) with buttons."""

    name = "mattermost"

    def __init__(self, client: MattermostClient, *, server_key: str, public_url: str) -> None:
        self.client, self._server_key, self.public_url = client, server_key, public_url

    def __repr__(self) -> str:
        return f"MattermostProvider({self.client!r})"

    def close(self) -> None:
        self.client.close()

    def _channel(self, to: str) -> ChatResult:
        if _ID.match(to):
            return ChatResult(Outcome.delivered, "channel", data={"channel_id": to})
        if to.startswith("@"):
            who = to[1:]
            if _ID.match(who):
                user = ChatResult(Outcome.delivered, "user", data={"user_id": who})
            elif _USERNAME.match(who):
                user = self.client.user_by_username(who)
            else:
                return ChatResult(Outcome.permanent, f"not a Mattermost username or user id: {to!r}")
            return self.client.direct_channel(str(user.data["user_id"])) if user.ok else user
        return ChatResult(Outcome.permanent, f"not a Mattermost channel id, @username or @user id: {to!r}")

    def send(self, message: Message) -> Result:
        """Delivered with the post id; retryable or permanent as the client says (details in tocsin's words)."""
        where = self._channel(message.to.strip())
        if not where.ok:
            return Result(where.outcome, where.detail)
        subject, body = escape(message.subject.strip()), escape(message.body.strip())
        text = "\n\n".join(part for part in (f"**{subject}**" if subject else "", body) if part) or " "
        props = page_props(message, server_key=self._server_key, public_url=self.public_url)
        posted = self.client.post(str(where.data["channel_id"]), text, props=props)
        if not posted.ok:
            return Result(posted.outcome, posted.detail)
        post_id = posted.data.get("post_id")
        return Result(Outcome.delivered, f"posted to Mattermost (post {post_id})",
                      provider_id=str(post_id) if post_id else None)
