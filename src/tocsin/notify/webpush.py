"""Deliver a message by Web Push (RFC 8030) to a browser's push subscription, with no vendor relay.

The message is JSON (`push_subscription.payload`), encrypted to the subscription's keys with
`aes128gcm` (RFC 8188/8291, by pywebpush and http_ece), and POSTed to the subscription's endpoint
with a VAPID signature (RFC 8292, by py_vapid): a JWT whose `aud` is the endpoint's origin, `sub`
the operator's contact (TOCSIN_VAPID_SUBJECT), valid for 12 hours from the tocsin clock.

The endpoint is a URL the browser chose, so the POST goes through the guarded HTTP client (the
egress policy: loopback and private ranges refused unless TOCSIN_OUTBOUND_ALLOW opens them), and
the push service's reply is never repeated: a status code and tocsin's own words.

Outcomes: 2xx delivered (the push service took it); 404 and 410 permanent (the subscription ended:
the browser unsubscribed, or the person cleared the site's data); 401/403 permanent (signed with
another key than the subscription was made with); 413 permanent; 408, 425, 429 and 5xx, timeouts
and network errors retryable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import httpx
import orjson
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException

from tocsin.clock import Clock, SystemClock
from tocsin.net.guard import Blocked
from tocsin.notify import push_subscription
from tocsin.notify.types import Message, Outcome, Result, retry_after_words, status_words

TTL_SECONDS = 24 * 3600  # how long the push service keeps it for an offline phone: as long as its links work
JWT_LIFETIME = timedelta(hours=12)  # RFC 8292 allows at most 24 hours

log = logging.getLogger("tocsin.notify.webpush")


class WebPushProvider:
    """Encrypts each message to the subscription in `message.to` and POSTs it, VAPID-signed."""

    name = "push"

    def __init__(self, client: Callable[[], httpx.Client], private_key: str, subject: str, *,
                 clock: Clock | None = None, ttl: int = TTL_SECONDS) -> None:
        """`client` returns the guarded client (`tocsin.net.http.make_client`), asked for at send time.
        Raises ValueError when the key or the subject cannot sign."""
        self._client = client
        self._vapid = Vapid02(push_subscription.load_private_key(private_key))
        if not subject.startswith(("mailto:", "https://")):
            raise ValueError("TOCSIN_VAPID_SUBJECT must be a mailto: address or an https: URL")
        self.subject = subject
        self.clock = clock or SystemClock()
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"WebPushProvider(subject={self.subject!r})"

    def vapid_headers(self, endpoint: str) -> dict[str, str]:
        """The Authorization header for a POST to `endpoint`; VapidException when the claims are refused."""
        claims = {"aud": push_subscription.audience(endpoint), "sub": self.subject,
                  "exp": int((self.clock.now() + JWT_LIFETIME).timestamp())}
        signed: dict[str, str] = self._vapid.sign(claims)
        return signed

    def request(self, message: Message) -> httpx.Request:
        """The encrypted, signed POST for `message`; ValueError when it cannot be built (not a subscription,
        unusable keys, refused VAPID claims)."""
        sub = push_subscription.parse(message.to)
        problem = push_subscription.key_problem(sub.p256dh, sub.auth)
        if problem:
            raise ValueError(f"the subscription's keys are not usable: {problem}")
        body = orjson.dumps(push_subscription.payload(message))
        try:
            encrypted = WebPusher({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}) \
                .encode(body, "aes128gcm")["body"]
            headers = self.vapid_headers(sub.endpoint)
        except (WebPushException, VapidException) as exc:
            raise ValueError(f"could not encrypt or sign the push ({type(exc).__name__})") from None
        headers.update({"Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
                        "TTL": str(self.ttl), "Urgency": "high"})
        return self._client().build_request("POST", sub.endpoint, content=encrypted, headers=headers)

    def send(self, message: Message) -> Result:
        """Return the outcome of one push (see the module docstring); never raises for a delivery failure."""
        try:
            request = self.request(message)
        except ValueError as exc:
            return Result(Outcome.permanent, str(exc))
        except httpx.InvalidURL:
            return Result(Outcome.permanent, "the push endpoint is not a valid URL")
        host = request.url.host
        try:
            response = self._client().send(request, stream=True)  # the reply's body is never read
        except Blocked as exc:
            return Result(Outcome.permanent, f"blocked by the egress policy: {exc.message}")
        except httpx.UnsupportedProtocol:
            return Result(Outcome.permanent, "the push endpoint is not an http(s) URL")
        except httpx.TimeoutException:
            return Result(Outcome.retryable, f"timed out waiting for the push service {host}")
        except httpx.TransportError as exc:
            return Result(Outcome.retryable, f"could not reach the push service {host} ({type(exc).__name__})")
        response.close()
        status = response.status_code
        words = status_words(status)
        if 200 <= status < 300:
            return Result(Outcome.delivered, words)
        log.info("push service %s answered %s", host, status)
        if status in (404, 410):
            return Result(Outcome.permanent, f"{words}: this device's push subscription has ended; enable push "
                                             "on it again from your profile page")
        if status in (401, 403):
            return Result(Outcome.permanent, f"{words}: the push service refused tocsin's VAPID signature (the "
                                             "subscription was made with another key); enable push again")
        if status in (408, 425, 429) or status >= 500:
            return Result(Outcome.retryable, words + retry_after_words(response.headers.get("Retry-After")))
        return Result(Outcome.permanent, words)
