"""Microsoft Teams through a Workflows (Power Automate) webhook: Adaptive Cards for pages and incident updates.

Office 365 connectors are retired; a Teams channel now takes posts through the Workflows template
"Post to a channel when a webhook request is received". Its URL (with a `sig` query parameter that is
the credential) is a secret: it never appears in a detail, a log line or a page shown to others.

The request is one JSON POST, the envelope Microsoft documents for cards sent to a webhook:

    {"type": "message",
     "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
                      "content": {"type": "AdaptiveCard", "version": "1.4", "body": [...], "actions": [...]}}]}

- `page_card(message)`: a page (the title, severity and service when known, the body) with one
  `Action.OpenUrl` button per entry of `message.data["links"]` (Acknowledge, Resolve, Decline, Open).
  Those are tocsin's signed one-time links: a card posted through a webhook has no bot behind it, so
  `Action.Execute` and `Action.Submit` have nobody to call; opening the link lets the person confirm on
  tocsin's page, which acts once.
- `incident_card(ref, title, severity, status, text, url)`: an incident update with an "Open incident" link.
- `post_card(client, url, payload)`: POST a card for the chat outbox, a `ChatResult`.
- `TeamsProvider`: the `teams` contact-method channel (a `Result`).

User text goes into TextBlocks, whose text is a markdown subset: it is not HTML-escaped (Teams shows
`&amp;` literally), but link syntax is broken so an alert summary cannot dress a link as something else
(`[Acknowledge](https://evil)` stays text); bare URLs stay visible as URLs. Cards are cut to stay well
under Teams' limit of about 28 KB per message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from tocsin.net.guard import Blocked
from tocsin.notify.chat_types import ChatResult
from tocsin.notify.types import Message, Outcome, Result, retry_after_words, status_words
from tocsin.notify.webhook import log_excerpt

log = logging.getLogger("tocsin.notify.teams")

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"  # Teams renders 1.4 in webhook cards; 1.5's Action.Execute needs a bot anyway
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_BYTES = 24_000  # the whole request body; Teams refuses about 28 KB (text, card JSON and all) with 413
LINK_LABELS = {"ack": "Acknowledge", "resolve": "Resolve", "decline": "Decline", "view": "Open"}
_TITLE_CHARS = 300
_BODY_CHARS = 8_000
_MAX_ACTIONS = 6
_SEVERITY = re.compile(r"^\[([A-Za-z0-9_-]{1,20})\]\s*")
_LINK_SYNTAX = re.compile(r"\](?=[(\[])")
_HIGH = frozenset({"critical", "sev1", "p0", "p1", "high", "error"})


# --- card text -------------------------------------------------------------------------------------

def plain(text: str) -> str:
    """`text` as a TextBlock shows it, with no link a reader could mistake: `[a](b)` and `[a][b]` lose the
    adjacency markdown needs (`[a] (b)`), and `{{` (Adaptive Cards' DATE/TIME functions) is spaced out."""
    return _LINK_SYNTAX.sub("] ", text).replace("{{", "{ {")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if limit > 1 else ""


def _block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _open(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def _is_web(url: object) -> bool:
    return isinstance(url, str) and url.lower().startswith(("https://", "http://")) and len(url) <= 2000


def envelope(content: dict[str, Any]) -> dict[str, Any]:
    """The message that carries one Adaptive Card (`content`) to a Workflows webhook."""
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": content}]}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body,
                            "msteams": {"width": "Full"}}
    if actions:
        card["actions"] = actions[:_MAX_ACTIONS]
    return card


def encode(payload: object) -> bytes:
    return orjson.dumps(payload)


def _fitted(build: Callable[[str], dict[str, Any]], text: str) -> dict[str, Any]:
    """`build(text)`, with `text` cut until the encoded message fits in MAX_BYTES."""
    payload = build(text)
    for _ in range(8):
        size = len(encode(payload))
        if size <= MAX_BYTES or not text:
            break
        # Characters take 1 to 6 bytes once JSON-encoded: keep the share of the text that fits, then check.
        text_bytes = len(encode(text))
        budget = max(0, MAX_BYTES - (size - text_bytes))
        text = _cut(text, len(text) * budget // max(text_bytes, 1) - 16)
        payload = build(text)
    return payload


def _facts(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    facts = [{"title": name, "value": plain(_cut(value, 200))} for name, value in pairs if value]
    return [{"type": "FactSet", "facts": facts}] if facts else []


def _color(severity: str) -> str:
    return "Attention" if severity.lower() in _HIGH else "Default"


def _page_parts(message: Message) -> tuple[str, str, str, str]:
    """(title, severity, service, body) of a page: the severity is the subject's leading "[critical]"
    (or `data["severity"]`), the service the alert group's (or `data["service"]`); the body loses the
    "Ack: <link>" lines the card carries as buttons."""
    data = message.data if isinstance(message.data, dict) else {}
    title = message.subject.strip()
    drill = title.startswith("[DRILL]")  # a drill's page (notify.compose) keeps its mark in the title
    title = title.removeprefix("[DRILL]").lstrip()
    severity = str(data.get("severity") or "")
    found = _SEVERITY.match(title)
    if found:
        severity = severity or found.group(1)
        title = title[found.end():]
    title = f"[DRILL] {title}" if drill else title
    group = data.get("group")
    service = str(data.get("service") or (group.get("service") if isinstance(group, dict) else "") or "")
    links = data.get("links")
    shown = {f"{name.capitalize()}: {url}" for name, url in (links.items() if isinstance(links, dict) else ())}
    body = "\n".join(line for line in message.body.strip().splitlines() if line.strip() not in shown).strip()
    return title, severity, service, body


def page_card(message: Message) -> dict[str, Any]:
    """The Workflows message for a page (or a verification code, a test, a request to join): an Adaptive
    Card 1.4 with the title, a FactSet of severity and service, the body, and `Action.OpenUrl` buttons
    for the signed links in `message.data["links"]` (ack → Acknowledge, resolve → Resolve, decline →
    Decline, view → Open). Links that are not http(s) URLs are left out."""
    title, severity, service, body = _page_parts(message)
    links = message.data.get("links") if isinstance(message.data, dict) else None
    actions = [_open(LINK_LABELS.get(str(key), str(key).replace("_", " ").capitalize()[:40] or "Open"), url)
               for key, url in (links.items() if isinstance(links, dict) else ()) if _is_web(url)]
    head = [_block(plain(_cut(title or "tocsin", _TITLE_CHARS)), weight="Bolder", size="Medium",
                   color=_color(severity)),
            *_facts([("Severity", severity), ("Service", service)])]

    def build(text: str) -> dict[str, Any]:
        return envelope(_card([*head, *([_block(plain(text))] if text else [])], actions))

    return _fitted(build, _cut(body, _BODY_CHARS))


def incident_card(ref: str, title: str, severity: str, status: str, text: str, url: str | None) -> dict[str, Any]:
    """The Workflows message for an incident update: "INC-42 · SEV1: title", its status and severity, the
    update's text, and an "Open incident" button when `url` is an http(s) URL. The caller decides what
    may be said (a restricted incident's title must not reach a channel: pass neutral words)."""
    head = [_block(plain(_cut(f"{ref} · {severity}: {title}" if title else f"{ref} · {severity}", _TITLE_CHARS)),
                   weight="Bolder", size="Medium", color=_color(severity)),
            *_facts([("Status", status), ("Severity", severity)])]
    actions = [_open("Open incident", url)] if url and _is_web(url) else []

    def build(words: str) -> dict[str, Any]:
        return envelope(_card([*head, *([_block(plain(words))] if words else [])], actions))

    return _fitted(build, _cut(text.strip(), _BODY_CHARS))


# --- the POST ----------------------------------------------------------------------------------------

def _retry_after(value: str | None) -> float | None:
    text = (value or "").strip()
    return float(text) if (text.isascii() and text.isdigit()) and len(text) <= 7 else None


def post_card(client: httpx.Client, url: str, payload: dict[str, Any]) -> ChatResult:
    """POST `payload` (from `page_card` or `incident_card`) to the Workflows webhook `url` through `client`
    (the guarded client, `tocsin.net.http.make_client`).

    Delivered on 200 and 202: Workflows answers 202 Accepted before the flow runs, so delivered means
    *accepted*, not shown (a card the flow cannot post fails later, inside the flow's run history).
    Retryable on 408/425/429/5xx (with `retry_after` from a Retry-After in seconds), timeouts and network
    errors; permanent on 413 ("card too large", error `too_large`), other statuses, redirects (not
    followed), a URL the egress guard refuses or a malformed URL. The detail names the status and the
    host, never the URL (its `sig` is the credential) nor the reply (a failed reply's start is logged).
    `error` is tocsin's short code where the caller may act on it (Teams gives none): `too_large`,
    `rate_limited`, `blocked`, `invalid_url`.
    """
    try:
        request = client.build_request("POST", url, content=encode(payload),
                                       headers={"Content-Type": "application/json"})
        host = request.url.host
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
        return ChatResult(Outcome.permanent, "invalid Teams webhook URL", error="invalid_url")
    if request.url.scheme not in ("https", "http") or not host:
        return ChatResult(Outcome.permanent, "invalid Teams webhook URL: not http(s)", error="invalid_url")
    try:
        response = client.send(request, stream=True)
    except Blocked as exc:
        return ChatResult(Outcome.permanent, f"blocked by the egress policy: {exc.message}", error="blocked")
    except httpx.UnsupportedProtocol:
        return ChatResult(Outcome.permanent, "invalid Teams webhook URL: not http(s)", error="invalid_url")
    except httpx.TimeoutException:
        return ChatResult(Outcome.retryable, f"timed out waiting for the Teams webhook at {host}")
    except httpx.TransportError as exc:  # its text may quote the far end: only the type
        return ChatResult(Outcome.retryable, f"could not reach the Teams webhook at {host} ({type(exc).__name__})")
    status = response.status_code
    try:
        if not 200 <= status < 300:
            log.info("Teams webhook at %s answered %s: %s", host, status, log_excerpt(response))
    finally:
        response.close()
    words = f"Teams webhook {status_words(status)}"
    if status in (200, 202):
        note = " (the workflow accepted the card; Teams posts it when the flow runs)" if status == 202 else ""
        return ChatResult(Outcome.delivered, words + note)
    if 200 <= status < 300:
        return ChatResult(Outcome.delivered, words)
    if status == 413:
        return ChatResult(Outcome.permanent, words + ": card too large", error="too_large")
    if status in (408, 425, 429) or status >= 500:
        after = response.headers.get("Retry-After")
        return ChatResult(Outcome.retryable, words + retry_after_words(after),
                          error="rate_limited" if status == 429 else None, retry_after=_retry_after(after))
    if 300 <= status < 400:
        words += " (redirect not followed)"
    elif status == 404:
        words += ": the workflow was deleted or the URL is wrong"
    elif status in (401, 403):
        words += ": the URL's signature is wrong or the workflow is off"
    return ChatResult(Outcome.permanent, words)



class TeamsProvider:
    """The `teams` contact-method channel: posts each message as an Adaptive Card to the Workflows webhook
    URL in `message.to`. Delivered means the workflow accepted it (202), not that Teams has shown it."""

    name = "teams"

    def __init__(self, client: Callable[[], httpx.Client]) -> None:
        """`client` returns the guarded client (`tocsin.net.http.make_client`), asked for at send time."""
        self._client = client

    def __repr__(self) -> str:
        return "TeamsProvider()"

    def send(self, message: Message) -> Result:
        """Return delivered on 200/202, retryable on 429/5xx, timeouts and network errors, permanent on 413
        (card too large), other 4xx, redirects, or a URL the egress guard refuses (see `post_card`)."""
        result = post_card(self._client(), message.to.strip(), page_card(message))
        return Result(result.outcome, result.detail)
