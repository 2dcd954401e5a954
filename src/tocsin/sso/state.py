"""The sign-in in flight, kept by the browser: a signed, short-lived cookie (no table, no server state).

The cookie holds the state, nonce, PKCE verifier and where to go after login, as JSON, signed with
an HMAC under a key derived from the server secret, and expires after ten minutes. The state in
the callback's URL must equal the one in the cookie, so a callback started in another browser (login
CSRF) fails. The verifier is readable by the user's own browser, which is the party PKCE proves;
the client secret still guards the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from tocsin.keys import derived_secret
from tocsin.sso.oidc import Pending

COOKIE = "tocsin_sso"
TTL = timedelta(minutes=10)
_MAX_CHARS = 2000


def _key(server_secret: str) -> bytes:
    return derived_secret(server_secret, "sso-state", "v1").encode()


def seal(pending: Pending, *, server_secret: str, now: datetime) -> str:
    """The cookie value for `pending`, valid for TTL from `now`."""
    body = json.dumps({"s": pending.state, "n": pending.nonce, "v": pending.verifier, "p": pending.next_path,
                       "e": int((now + TTL).timestamp())}, separators=(",", ":")).encode()
    data = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    mac = hmac.new(_key(server_secret), data.encode(), hashlib.sha256).hexdigest()
    return f"{data}.{mac}"


def unseal(value: str | None, *, server_secret: str, now: datetime) -> Pending | None:
    """The sign-in the cookie carries, or None when it is missing, forged, malformed or expired."""
    if not value or len(value) > _MAX_CHARS or "." not in value:
        return None
    data, _, mac = value.rpartition(".")
    good = hmac.new(_key(server_secret), data.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac.encode(), good.encode()):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        if int(body["e"]) <= now.timestamp():
            return None
        return Pending(state=str(body["s"]), nonce=str(body["n"]), verifier=str(body["v"]), next_path=str(body["p"]))
    except (ValueError, KeyError, TypeError):
        return None
