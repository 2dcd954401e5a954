"""Deliver a message as a signed JSON POST to a webhook URL, through the guarded HTTP client.

The request:

    POST <message.to>
    Content-Type: application/json
    Idempotency-Key: <message.idempotency_key>       the same on every retry
    X-Tocsin-Timestamp: <unix seconds when signed>
    X-Tocsin-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

    {"id": <idempotency key>, "created_at": <ISO 8601>, "subject", "body", "data": {...}}

Receivers check the request with `verify_webhook`. The signature covers the timestamp,
so a captured request cannot be replayed outside the replay window (5 minutes either side
of the receiver's clock by default); within the window, a receiver drops duplicates by
`id` / `Idempotency-Key`, which is also how it absorbs our own retries. Each retry is
signed afresh with a new timestamp, so a delivery delayed by backoff is never stale.
The header may carry several comma-separated `v1=` signatures (during a secret rotation);
one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime

import httpx
import orjson

from tocsin.clock import Clock, SystemClock, ensure_utc
from tocsin.net.guard import Blocked
from tocsin.notify.types import Message, Outcome, Result, retry_after_words, status_words

SIGNATURE_HEADER = "X-Tocsin-Signature"
TIMESTAMP_HEADER = "X-Tocsin-Timestamp"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
_LOG_BYTES = 512  # how much of a failed receiver's reply is logged for operators (never shown to users)

log = logging.getLogger("tocsin.notify.webhook")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_webhook(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Return True when `signature` is ours for exactly `body` and `timestamp`, and fresh.

    `body` is the raw request body as received (not re-serialized JSON), `timestamp` and
    `signature` the X-Tocsin-Timestamp and X-Tocsin-Signature header values, `now` the
    receiver's aware current time. A timestamp more than `tolerance_seconds` away from
    `now`, in either direction, fails (the replay window). A malformed timestamp or
    signature is False, not an error; a naive `now` raises ValueError.
    """
    try:
        sent_at = int(timestamp.strip())
    except (ValueError, AttributeError):
        return False
    if abs(ensure_utc(now).timestamp() - sent_at) > tolerance_seconds:
        return False
    expected = sign(secret, str(sent_at), body)
    matched = False
    for part in signature.split(","):
        version, _, value = part.strip().partition("=")
        # compare every candidate (no early exit), each in constant time
        if version == SIGNATURE_VERSION and hmac.compare_digest(value.strip().lower(), expected):
            matched = True
    return matched


def _document(message: Message) -> dict[str, object]:
    return {
        "id": message.idempotency_key,
        "created_at": ensure_utc(message.created_at).isoformat(),
        "subject": message.subject,
        "body": message.body,
        "data": message.data,
    }


def _encode(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)


def _payload(message: Message) -> bytes:
    return _encode(_document(message))


def _is_retryable_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def signed_request(client: httpx.Client, url: str, key: str, body: bytes, secret: str, now: datetime) -> httpx.Request:
    """Return the signed POST of the raw JSON `body` to `url` (headers as in the module docstring)."""
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={sign(secret, timestamp, body)}",
    }
    return client.build_request("POST", url, content=body, headers=headers)


def post_json(client: httpx.Client, url: str, key: str, data: object, secret: str, *, now: datetime) -> Result:
    """POST the JSON document `data` to `url`, signed with `secret` at `now`, with `key` as the
    Idempotency-Key. Return delivered on 2xx; retryable on 408/425/429/5xx, timeouts and network
    errors; permanent on other statuses, a URL the egress guard refuses, or a bad URL or payload.
    The detail is the status code and its standard reason, never the reply (a failed reply's
    first `_LOG_BYTES` go to the log); redirects are not followed. Never raises for a delivery
    problem."""
    try:
        request = signed_request(client, url, key, _encode(data), secret, now)
    except TypeError as exc:  # orjson: data holds something JSON cannot carry
        return Result(Outcome.permanent, f"payload is not JSON-serializable: {exc}")
    except httpx.InvalidURL as exc:
        return Result(Outcome.permanent, f"invalid webhook URL {url!r}: {exc}")
    return _send(client, request, url)


def _send(client: httpx.Client, request: httpx.Request, url: str) -> Result:
    host = request.url.host
    try:
        # Streamed, so a receiver answering with a huge body costs us at most _LOG_BYTES.
        response = client.send(request, stream=True)
    except Blocked as exc:
        return Result(Outcome.permanent, f"blocked by the egress policy: {exc.message}")
    except httpx.UnsupportedProtocol:
        return Result(Outcome.permanent, "invalid webhook URL: not http(s)")
    except httpx.TimeoutException:
        return Result(Outcome.retryable, f"timed out waiting for {host}")
    except httpx.TransportError as exc:  # connect/read errors, protocol errors
        return Result(Outcome.retryable, f"could not reach {host} ({type(exc).__name__})")
    status = response.status_code
    try:
        # Once the status line is in, the receiver has decided: a failure reading the
        # rest of the reply must not turn an accepted delivery into a retry.
        if not 200 <= status < 300:
            log.info("webhook to %s answered %s: %s", host, status, log_excerpt(response))
    finally:
        response.close()

    detail = status_words(status)
    if 200 <= status < 300:
        return Result(Outcome.delivered, detail)
    if _is_retryable_status(status):
        return Result(Outcome.retryable, detail + retry_after_words(response.headers.get("Retry-After")))
    if 300 <= status < 400:
        # Redirects are not followed: each hop would need re-signing and re-checking.
        detail += " (redirect not followed)"
    return Result(Outcome.permanent, detail)


class WebhookProvider:
    """POSTs each message to the URL in `message.to`, signed with `secret`."""

    name = "webhook"

    def __init__(self, client: httpx.Client, secret: str, *, clock: Clock | None = None) -> None:
        """`client` should come from `tocsin.net.http.make_client` (SSRF guard, timeouts)."""
        if not secret:
            raise ValueError("a webhook secret is required")
        self.client = client
        self._secret = secret
        self.clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"WebhookProvider(client={self.client!r})"

    def request(self, message: Message) -> httpx.Request:
        """Return the signed request for `message`; raise TypeError if `data` is not JSON-able."""
        return signed_request(self.client, message.to, message.idempotency_key, _payload(message), self._secret,
                              self.clock.now())

    def send(self, message: Message) -> Result:
        """Return delivered on 2xx; retryable on 408/425/429/5xx, timeouts and network errors;
        permanent on other statuses, a URL the egress guard refuses, or a bad URL or payload."""
        return self.send_json(message.to, message.idempotency_key, _document(message))

    def send_json(self, url: str, key: str, data: object, secret: str | None = None) -> Result:
        """POST an arbitrary JSON document with the same signing, limits and outcomes as `send`
        (signed with `secret`, or this provider's secret); see `post_json`."""
        return post_json(self.client, url, key, data, secret or self._secret, now=self.clock.now())


def log_excerpt(response: httpx.Response) -> str:
    """The first `_LOG_BYTES` of a streamed reply on one line, for an operator's log (never for users)."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= _LOG_BYTES:
                break
    except httpx.HTTPError:
        pass  # the reply body is only for the log line
    text = b"".join(chunks)[:_LOG_BYTES].decode("utf-8", "replace")
    return " ".join(text.split())
