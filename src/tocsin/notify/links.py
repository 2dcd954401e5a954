"""Signed one-time action links: "acknowledge" or "resolve" straight from a notification.

A link names a notification, an action and an expiry, signed with HMAC-SHA256 under the
server's secret key, so it cannot be forged or altered and nothing secret is stored: the link
text exists only in the message sent. Using it records the SHA-256 of the token in
`used_links` (primary key), so it works once; a second use, an expired link or a bad signature
is refused with the reason. Opening a link (GET) only shows what it would do: mail scanners
fetch links, so the action takes a POST from the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ACTIONS = ("ack", "resolve", "decline")  # decline: a request to join an incident (add responders)
LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Link:
    notification_id: uuid.UUID
    action: str
    expires_at: datetime


class BadLink(ValueError):
    """The token is not ours, was altered, or has expired; the message says which."""


class LinkExpired(BadLink):
    """A genuine link, past its expiry (not a guess: it does not count against the address)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), b"tocsin-link:" + payload.encode(), hashlib.sha256).digest()


def make_token(secret: str, notification_id: uuid.UUID, action: str, now: datetime) -> str:
    """Return the token for `action` on this notification, valid for LIFETIME from `now`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    expires = int((now + LIFETIME).timestamp())
    payload = f"{notification_id.hex}.{action}.{expires}"
    return f"{_b64(payload.encode())}.{_b64(_mac(secret, payload))}"


def read_token(secret: str, token: str, now: datetime) -> Link:
    """Return what the token says, or raise BadLink."""
    try:
        head, sig = token.split(".")
        payload = _unb64(head).decode()
        given = _unb64(sig)
    except (ValueError, UnicodeDecodeError):
        raise BadLink("this link is not a tocsin action link (it may have been cut short)") from None
    if not hmac.compare_digest(given, _mac(secret, payload)):
        raise BadLink("this link's signature does not match (it was altered, or the server key changed)")
    nid, action, expires = payload.split(".")
    link = Link(uuid.UUID(hex=nid), action, datetime.fromtimestamp(int(expires), UTC))
    if now >= link.expires_at:
        raise LinkExpired(f"this link expired at {link.expires_at.isoformat()}")
    return link


def digest(token: str) -> str:
    """What `used_links` keeps of a used token."""
    return hashlib.sha256(token.encode()).hexdigest()
