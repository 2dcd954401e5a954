"""Secret keys for inbound endpoints (integrations, heartbeats): 128 random bits, stored hashed.

A key is 32 hex characters, the shape of a PagerDuty integration key, so that tools which
check the routing key's format accept it. It is shown once; the database keeps its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_key() -> str:
    return secrets.token_hex(16)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def hint(key: str) -> str:
    return key[:4]


def derived_secret(server_secret: str, purpose: str, ident: str) -> str:
    """A secret derived from the server key (e.g. a Grafana HMAC signing secret): never stored."""
    return hmac.new(server_secret.encode(), f"{purpose}:{ident}".encode(), hashlib.sha256).hexdigest()
