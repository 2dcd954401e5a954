"""Deliver a message to Slack: to a channel or user through the Web API, or to an incoming webhook.

`message.to` chooses the route:

    C0123ABCD, U0123ABCD, D..., G...    chat.postMessage with the bot token (TOCSIN_SLACK_BOT_TOKEN)
    https://hooks.slack.com/services/…  an incoming webhook; the URL itself is the credential

Both carry the same content: `text` (subject and body, the fallback for notifications and
screen readers) and `blocks` (the subject in bold over the body, then one URL button per
entry of `message.data["links"]`: ack → "Acknowledge", resolve → "Resolve", view → "Open").
User text is escaped for mrkdwn (`&`, `<`, `>`), so an alert summary cannot forge a link or
a mention.

The Web API host is the operator's configuration (`base_url`), like the SMTP server, so it
does not pass the egress guard. A webhook URL is user input: its connection is made by a
urllib opener that resolves the name, checks every address with the EgressPolicy and
connects to a checked address (the same gate as `tocsin.net.http`, so DNS rebinding cannot
slip past), follows no redirects (urllib would otherwise follow a 302 after a POST as a GET,
anywhere) and ignores proxy environment variables (the guard would only see the proxy).

Slack has no idempotency header: a send repeated after a crash between Slack's reply and
the outbox recording it posts the message twice. Such duplicates are bounded by the outbox
claim (one engine holds a row at a time), not prevented here.
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

import httpcore
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.slack_response import SlackResponse
from slack_sdk.webhook import WebhookClient, WebhookResponse

from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import resolve_checked
from tocsin.notify.slack_errors import DETAIL_CHARS, api_failure, network_kind
from tocsin.notify.types import Message, Outcome, Result, retry_after_words, status_words

log = logging.getLogger("tocsin.notify.slack")

DEFAULT_BASE_URL = "https://slack.com/api/"
NO_TOKEN = "no Slack bot token configured (set TOCSIN_SLACK_BOT_TOKEN)"

LINK_LABELS = {"ack": "Acknowledge", "resolve": "Resolve", "view": "Open"}
ACTION_LABELS = {"ack": "Acknowledge", "resolve": "Resolve", "escalate": "Escalate"}

# Slack's own limits: a section's text, a button's label, buttons in one actions block.
_SECTION_CHARS = 3000
_BUTTON_LABEL_CHARS = 75
_MAX_BUTTONS = 25
# Incoming-webhook refusals Slack documents (api.slack.com/messaging/webhooks#handling_errors).
_WEBHOOK_ERRORS = {
    "invalid_payload": "the message was malformed",
    "user_not_found": "the user does not exist",
    "channel_not_found": "the channel does not exist",
    "channel_is_archived": "the channel is archived",
    "action_prohibited": "an admin restricted posting to the channel",
    "posting_to_general_channel_denied": "posting to #general is restricted",
    "too_many_attachments": "too many attachments",
    "no_service": "the webhook was disabled or removed",
    "no_service_id": "the webhook URL is incomplete",
    "no_team": "the workspace does not exist",
    "team_disabled": "the workspace is disabled",
    "invalid_token": "the webhook URL's token is wrong",
    "no_text": "the message had no text",
    "rate_limited": "Slack is rate limiting the webhook",
    "rollup_error": "Slack had an internal error",
}

# A conversation ID (C…, U…, D…, G…) or a channel name, which chat.postMessage also takes.
_CHANNEL = re.compile(r"^#?[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def _escape(text: str) -> str:
    """Return `text` with Slack's mrkdwn control characters escaped (& first, so it is not doubled)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(key: str) -> str:
    label = LINK_LABELS.get(key) or key.replace("_", " ").strip().capitalize() or "Open"
    return label[:_BUTTON_LABEL_CHARS]


def _action_buttons(data: Any, links: Any) -> list[dict[str, Any]]:
    """The interactive buttons of a page (the Slack app is installed): Acknowledge, Resolve and
    Escalate carry the notification id and come back to tocsin as block_actions, acting as the
    Slack user who clicks (api/chat/buttons.py); Open stays a link. None for anything else."""
    if not isinstance(data, dict) or data.get("kind") != "page" or not data.get("notification_id"):
        return []
    value = str(data["notification_id"])
    out: list[dict[str, Any]] = [
        {"type": "button", "action_id": f"tocsin_{key}", "text": {"type": "plain_text", "text": label},
         "value": value, **({"style": "primary"} if key == "ack" else {})}
        for key, label in ACTION_LABELS.items()
    ]
    view = links.get("view") if isinstance(links, dict) else None
    if isinstance(view, str) and view.lower().startswith(("https://", "http://")):
        out.append({"type": "button", "action_id": "tocsin_view", "text": {"type": "plain_text", "text": "Open"},
                    "url": view})
    return out


def content(message: Message, *, interactive: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Return the fallback `text` and the `blocks` Slack shows for `message`.

    `interactive` (the Slack app is installed): a page carries action buttons instead of links.

    Links that are not http(s) URLs are left out rather than sent: Slack refuses the whole
    message (invalid_blocks) for one bad button, and a page without a button beats no page.
    """
    subject, body = _escape(message.subject.strip()), _escape(message.body.strip())
    text = "\n".join(part for part in (subject, body) if part)
    section = "\n".join(part for part in (f"*{subject}*" if subject else "", body) if part) or " "
    if len(section) > _SECTION_CHARS:
        section = section[: _SECTION_CHARS - 1] + "…"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": section}}]

    links = message.data.get("links") if isinstance(message.data, dict) else None
    if interactive and (buttons := _action_buttons(message.data, links)):
        blocks.append({"type": "actions", "block_id": "tocsin_page", "elements": buttons})
        return text, blocks
    buttons = [
        {
            "type": "button",
            "action_id": f"tocsin_{key}",
            "text": {"type": "plain_text", "text": _label(str(key))},  # plain_text: no escaping
            "url": url,
        }
        for key, url in (links.items() if isinstance(links, dict) else ())
        if isinstance(url, str) and url.lower().startswith(("https://", "http://"))
    ][:_MAX_BUTTONS]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return text, blocks


def _is_webhook(to: str) -> bool:
    return to.lower().startswith(("https://", "http://"))


def _network_detail(exc: BaseException) -> str:
    if isinstance(exc, URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason  # urllib wraps the socket error; the socket error is the news
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SlackProvider:
    """Posts each message to a Slack channel or user (bot token) or to an incoming webhook URL."""

    name = "slack"

    def __init__(
        self,
        bot_token: str | None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        policy: EgressPolicy | None = None,
        timeout: float = 10,
        interactive: bool = False,
    ) -> None:
        """`bot_token` may be None: webhooks still work, channel sends fail permanently.

        `policy` guards webhook URLs (the default policy when None); `timeout` bounds each
        connect and each read, in seconds. Raises TypeError if the installed slack_sdk no
        longer has the seam the webhook guard is installed through.
        """
        _check_webhook_seam()
        self._token = (bot_token or "").strip() or None
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.policy = policy or EgressPolicy()
        self.timeout = timeout
        self.interactive = interactive
        self._client: WebClient | None = None
        if self._token is not None:
            # retry_handlers=[]: one attempt per send; retries and backoff are the engine's.
            self._client = WebClient(
                token=self._token,
                base_url=self.base_url,
                timeout=timeout,  # type: ignore[arg-type]  # slack_sdk says int; urllib, which gets it, takes float
                retry_handlers=[],
            )

    def __repr__(self) -> str:
        return f"SlackProvider(base_url={self.base_url!r}, bot_token={'set' if self._token else 'unset'})"

    def send(self, message: Message) -> Result:
        """Return delivered with Slack's `ts` as provider_id (Web API) or on "ok" (webhook);
        retryable on rate limiting, Slack-side errors, timeouts and network errors; permanent
        on refusals (unknown channel, bad token, archived channel, ...), a webhook URL the
        egress policy refuses, a malformed destination, or no bot token for a channel."""
        to = message.to.strip()
        text, blocks = content(message, interactive=self.interactive and not _is_webhook(to))
        result = self._send_webhook(to, text, blocks) if _is_webhook(to) else self._send_api(to, text, blocks)
        if self._token and self._token in result.detail:  # belt and braces: never store the token
            result = Result(result.outcome, result.detail.replace(self._token, "[redacted]"), result.provider_id)
        return result

    # -- Web API -----------------------------------------------------------------------------

    def _send_api(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> Result:
        if self._client is None:
            return Result(Outcome.permanent, NO_TOKEN)
        if not _CHANNEL.match(channel):
            return Result(Outcome.permanent, f"not a Slack channel or user ID, nor a webhook URL: {channel!r}")
        try:
            response = self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            return _api_failure(exc.response)
        except SlackRequestError as exc:
            return Result(Outcome.permanent, f"Slack request refused by the client: {exc}")
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, bad status lines
            return Result(Outcome.retryable, f"Slack API unreachable: {_network_detail(exc)}")
        ts = response.get("ts")
        where = response.get("channel") or channel
        return Result(Outcome.delivered, f"posted to {where} (ts {ts})", provider_id=ts)

    # -- incoming webhooks -------------------------------------------------------------------

    def _send_webhook(self, url: str, text: str, blocks: list[dict[str, Any]]) -> Result:
        # The webhook URL is a secret (its path is the credential): details name the host only.
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            return Result(Outcome.permanent, "invalid Slack webhook URL")
        if not host:
            return Result(Outcome.permanent, "invalid Slack webhook URL: no host")
        client = _GuardedWebhookClient(url, policy=self.policy, timeout=self.timeout)
        try:
            response = client.send(text=text, blocks=blocks)
        except Blocked as exc:
            return Result(Outcome.permanent, f"blocked by the egress policy: {exc.message}")
        except (SlackRequestError, ValueError, http.client.InvalidURL):
            return Result(Outcome.permanent, f"invalid Slack webhook URL (host {host})")
        except (OSError, http.client.HTTPException) as exc:
            # The exception's text can quote what the far end sent (http.client.BadStatusLine does):
            # only its type is named.
            return Result(Outcome.retryable, f"Slack webhook at {host} unreachable ({network_kind(exc)})")
        return _webhook_result(response)


def _api_failure(response: SlackResponse) -> Result:
    failure = api_failure(response)
    return Result(failure.outcome, failure.detail)


def _webhook_result(response: WebhookResponse) -> Result:
    # The URL is the user's: whatever answers it is not necessarily Slack, so its reply is not
    # repeated. Slack's own refusals (a short error code) are named when they are ones we know.
    status = response.status_code
    code = (response.body or "").strip()
    detail = f"Slack webhook {status_words(status)}"
    if code in _WEBHOOK_ERRORS:
        detail += f": {code} ({_WEBHOOK_ERRORS[code]})"
    if 200 <= status < 300:
        return Result(Outcome.delivered, f"Slack webhook {status_words(status)}")
    if status in (408, 425, 429) or status >= 500:
        headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        return Result(Outcome.retryable, detail + retry_after_words(headers.get("retry-after")))
    if 300 <= status < 400:
        detail += " (redirect not followed)"
    # 400 invalid_payload, 403 action_prohibited, 404 no_service, 410 channel_is_archived, ...
    return Result(Outcome.permanent, detail)


# -- the guarded urllib opener for webhook URLs ----------------------------------------------


def _guarded_create_connection(policy: EgressPolicy) -> Callable[..., socket.socket]:
    """Return a `socket.create_connection` that connects only to addresses `policy` permits."""

    def create_connection(
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
        **_: Any,
    ) -> socket.socket:
        host, port = address
        try:
            addresses = resolve_checked(host, port, policy)  # raises Blocked before any connect
        except httpcore.ConnectError as exc:
            raise OSError(str(exc)) from exc
        timeout = timeout if isinstance(timeout, int | float) else None  # not the "global default" sentinel
        # The timeout bounds trying all of a name's addresses, not each one (as in net/http.py).
        deadline = None if timeout is None else time.monotonic() + timeout
        error: OSError | None = None
        for ip in addresses:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"connect timeout: no time left to try {ip}") from error
            try:
                return socket.create_connection((ip, port), remaining, source_address)
            except OSError as exc:
                error = exc
        assert error is not None  # resolve_checked never returns an empty list
        raise error

    return create_connection


def _guarded_connection_class(cls: type[http.client.HTTPConnection], policy: EgressPolicy) -> Callable[..., Any]:
    create_connection = _guarded_create_connection(policy)

    def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        connection = cls(host, **kwargs)
        # http.client connects through this attribute; HTTPSConnection then wraps the socket
        # with TLS using the URL's host name for SNI and certificate checks.
        connection._create_connection = create_connection  # type: ignore[attr-defined]  # private: not in typeshed
        return connection

    return make


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__()
        self._connection = _guarded_connection_class(http.client.HTTPConnection, policy)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__()
        self._connection = _guarded_connection_class(http.client.HTTPSConnection, policy)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # the TLS context HTTPSHandler.__init__ set up, passed as its own https_open passes it
        return self.do_open(self._connection, req,
                            context=self._context)  # type: ignore[attr-defined]  # typeshed omits this attribute


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status, which WebhookClient reports


def _check_webhook_seam() -> None:
    # slack_sdk has no public way to choose how WebhookClient opens URLs; we override the one
    # method that does it. Fail loudly if it is gone: silently ignored, it would mean an
    # unguarded webhook client that follows redirects.
    if not callable(getattr(WebhookClient, "_perform_http_request_internal", None)):
        raise TypeError("slack_sdk WebhookClient internals changed: cannot install the egress guard")


class _GuardedWebhookClient(WebhookClient):
    """slack_sdk's webhook client, opening URLs only through the guarded opener."""

    def __init__(self, url: str, *, policy: EgressPolicy, timeout: float) -> None:
        super().__init__(url, retry_handlers=[],
                         timeout=timeout)  # type: ignore[arg-type]  # slack_sdk says int; urllib takes float
        self.proxy = None  # ignored by our opener anyway; set so nothing reads an env proxy
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            _NoRedirects(),
            _GuardedHTTPHandler(policy),
            _GuardedHTTPSHandler(policy),
        )

    def _perform_http_request_internal(self, url: str, req: urllib.request.Request) -> WebhookResponse:
        if not url.lower().startswith(("http://", "https://")):
            raise SlackRequestError("invalid URL scheme")  # no file://, ftp:// through urllib
        with self._opener.open(req, timeout=self.timeout) as http_response:
            charset = http_response.headers.get_content_charset() or "utf-8"
            # Only a short excerpt is ever shown; a huge "ok" reply costs no more than that.
            body = http_response.read(DETAIL_CHARS * 4).decode(charset, "replace")
            return WebhookResponse(
                url=url, status_code=http_response.status, body=body, headers=dict(http_response.headers.items())
            )
