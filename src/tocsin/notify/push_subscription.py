"""A Web Push subscription as one contact method address, the VAPID key's public half, and what a
push says. Pure: no database, no network, no clock.

A browser's `PushSubscription` is an endpoint URL at its push service plus two keys the message
is encrypted to (RFC 8291): `p256dh`, the browser's P-256 public key, and `auth`, a 16-byte
secret. All three are needed to send, so the contact method's address carries all three, the keys
in the URL's fragment, which is never sent to any server:

    https://fcm.googleapis.com/fcm/send/dXk…#p256dh=BNc…&auth=tBH…

Kept this way, a push subscription pages like any other contact method: notification rules,
escalation, fall-through, test messages and the notification rows' copied destination all work
unchanged, and the address is masked for everyone but its owner and admins as any URL is
(`contacts/mask.py`: scheme and host only).

The payload (`payload`) is JSON the service worker (`web/static/sw.js`) reads: the page's title
and words as the composer wrote them (a restricted incident's page already says only neutral
words, `escalation/incident_paging.py`), the one-time Acknowledge/Resolve links as paths on the
console's origin (`/n/<token>`, the same links the email carries), and where a click opens.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tocsin.notify.types import Message

TITLE_MAX = 150
BODY_MAX = 600  # a push payload must stay under ~4 KB once encrypted; the links and JSON take the rest


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str  # base64url, the browser's P-256 public key (65 bytes, uncompressed point)
    auth: str  # base64url, 16 bytes


def b64url_decode(text: str) -> bytes:
    """Bytes of unpadded (or padded) base64url; ValueError when it is not."""
    try:
        return base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_problem(p256dh: str, auth: str) -> str | None:
    """Why these subscription keys cannot be encrypted to, or None when they can."""
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return "p256dh must be the browser's P-256 public key (base64url, as PushSubscription.toJSON() gives it)"
    if len(point) != 65:
        return "p256dh must be an uncompressed P-256 point (65 bytes)"
    try:
        secret = b64url_decode(auth)
    except ValueError:
        secret = b""
    if len(secret) != 16:
        return "auth must be the subscription's 16-byte secret (base64url)"
    return None


def to_address(endpoint: str, p256dh: str, auth: str) -> str:
    """The contact method address of a subscription (the keys in the fragment)."""
    return f"{endpoint.strip()}#p256dh={p256dh.strip()}&auth={auth.strip()}"


def endpoint_of(address: str) -> str:
    return address.partition("#")[0]


def shown(address: str) -> str:
    """How a subscription reads in a list of contact methods: its push service, never its path or keys
    ("push service fcm.googleapis.com")."""
    host = urlsplit(endpoint_of(address)).hostname or "?"
    return f"push service {host}"


def parse(address: str) -> Subscription:
    """The subscription an address carries; ValueError naming what is missing."""
    endpoint, _, fragment = address.partition("#")
    keys = dict(parse_qsl(fragment))
    if not endpoint or "p256dh" not in keys or "auth" not in keys:
        raise ValueError("not a push subscription address (endpoint#p256dh=…&auth=…)")
    return Subscription(endpoint, keys["p256dh"], keys["auth"])


def audience(endpoint: str) -> str:
    """The VAPID `aud` claim for an endpoint: its origin (scheme, host and any port), RFC 8292 §2."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """The VAPID private key from its configured form: PEM, or base64url of the raw 32 bytes or of DER.
    ValueError when it is none of them or not a P-256 key."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key: Any = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()) if len(raw) == 32 else \
                serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise ValueError("the VAPID private key is not a P-256 key in PEM or base64url form") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the VAPID private key must be a P-256 (prime256v1) key")
    return key


def public_key(private_key: str) -> str:
    """The applicationServerKey browsers subscribe with: base64url of the uncompressed public point."""
    point = load_private_key(private_key).public_key().public_bytes(serialization.Encoding.X962,
                                                                     serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


def _path(url: str) -> str:
    """A link as a path on the console's own origin (the service worker acts same-origin)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def payload(message: Message) -> dict[str, Any]:
    """What the service worker shows: title, body, a tag (a new page for the same alert or incident
    replaces the old notification), the action links, and the console page a click opens."""
    data = message.data
    kind = str(data.get("kind", ""))
    alert_ids = [str(a) for a in data.get("alert_ids") or []]
    incident = data.get("incident_id")
    links = data.get("links") or {}
    actions = []
    if "ack" in links:
        actions.append({"action": "ack", "title": "Take command" if kind == "incident" else "Acknowledge",
                        "done": "Incident Commander taken" if kind == "incident" else "Acknowledged",
                        "link": _path(str(links["ack"]))})
    if "resolve" in links:
        actions.append({"action": "resolve", "title": "Resolve", "done": "Resolved",
                        "link": _path(str(links["resolve"]))})
    if kind == "incident" and incident:
        url, tag = f"/incidents/{incident}", f"incident:{incident}"
    elif len(alert_ids) == 1:
        url, tag = f"/alerts/{alert_ids[0]}", f"alert:{alert_ids[0]}"
    else:
        url, tag = ("/alerts" if alert_ids else "/me"), f"tocsin:{message.idempotency_key[:80]}"
    title = message.subject if len(message.subject) <= TITLE_MAX else message.subject[: TITLE_MAX - 1] + "…"
    body = message.body if len(message.body) <= BODY_MAX else message.body[: BODY_MAX - 1] + "…"
    return {"title": title, "body": body, "kind": kind, "tag": tag, "url": url, "actions": actions,
            "sent_at": message.created_at.isoformat()}
