"""OpenID Connect login as a relying party, with Authlib: discovery, code flow with PKCE, ID token checks.

`begin` makes the authorization URL and the values the browser must bring back (state, nonce, PKCE
verifier), which the console keeps in a signed, short-lived cookie (sso/state.py). `complete`
checks the returned state, redeems the code at the token endpoint (client secret and PKCE verifier,
through Authlib's OAuth2Client) and verifies the ID token: signature against the provider's JWKS
(asymmetric algorithms only; refetched once for an unknown key id), then `iss` (the configured
issuer, exactly), `aud` (our client id; `azp` when there are several audiences), `exp`/`iat`
(against tocsin's clock, 60 s leeway) and `nonce` with Authlib's `CodeIDToken`.

Every request to the provider goes through the guarded client of `net/` (no redirects, no
environment proxies, the connect-time address check), with one difference from user-chosen
destinations: private and loopback addresses are allowed, because the operator configures the
issuer and identity providers often live inside the network (Keycloak on 10.x). Link-local and
cloud metadata addresses stay refused. Nothing the provider answers is shown to the user; failures
are logged and the user sees a fixed message.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tocsin.config import Settings
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.http import guarded_transport
from tocsin.net.policy import operator_policy

# Authlib 1.9 prefers the `httpx2` package and warns (on stderr, at import) when it falls back to
# httpx, which it still supports in the pinned 1.9 series; the warning would land in every
# `tocsin` command's output, so it is silenced for this one import.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

log = logging.getLogger("tocsin.sso")

# Asymmetric algorithms only: "none" and HS256 (keyed with the client secret) are refused whatever
# the discovery document says.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 60
_METADATA_TTL = 3600.0
_TIMEOUT = 10.0


class SsoFailed(Exception):
    """The login cannot go on. `message` is safe to show; `why` (logged) may hold the provider's words."""

    def __init__(self, message: str, why: str = "", *, status: int = 400) -> None:
        super().__init__(why or message)
        self.message, self.why, self.status = message, why or message, status


@dataclass(frozen=True)
class Pending:
    """What the browser carries from `begin` to `complete` (in the signed state cookie)."""

    state: str
    nonce: str
    verifier: str
    next_path: str


@dataclass
class _Cached:
    metadata: dict[str, Any]
    jwks: dict[str, Any] | None
    fetched: float


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def policy(settings: Settings) -> EgressPolicy:
    """The egress policy for the identity provider: private ranges allowed (operator-chosen), metadata not."""
    return operator_policy(settings)


def _client(settings: Settings, redirect_uri: str, metadata: dict[str, Any] | None = None) -> OAuth2Client:
    guard = policy(settings)

    def check(request: httpx.Request) -> None:
        guard.check_host(request.url.host)

    methods = (metadata or {}).get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    scopes = settings.sso_scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return OAuth2Client(
        client_id=settings.sso_client_id, client_secret=settings.resolved_sso_client_secret(),
        token_endpoint_auth_method=auth_method, scope=" ".join(scopes), redirect_uri=redirect_uri,
        code_challenge_method="S256", transport=guarded_transport(guard), event_hooks={"request": [check]},
        timeout=httpx.Timeout(_TIMEOUT), follow_redirects=False, trust_env=False,
    )


def _get_json(client: OAuth2Client, url: str, what: str) -> dict[str, Any]:
    try:
        response = client.request("GET", url, withhold_token=True)  # Authlib: a plain GET, no access token
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, Blocked, ValueError) as exc:
        raise SsoFailed("The identity provider could not be reached; try again later.",
                        f"{what} {url}: {exc}", status=502) from None
    if not isinstance(body, dict):
        raise SsoFailed("The identity provider answered something unexpected.", f"{what} {url}: not an object",
                        status=502)
    return body


def metadata(settings: Settings, client: OAuth2Client, *, refresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document (cached for an hour per process); its issuer must be the configured one."""
    issuer = (settings.sso_issuer or "").rstrip("/")
    with _lock:
        cached = _cache.get(issuer)
    if cached and not refresh and time.monotonic() - cached.fetched < _METADATA_TTL:
        return cached.metadata
    doc = _get_json(client, issuer + "/.well-known/openid-configuration", "discovery")
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise SsoFailed("The identity provider is misconfigured.",
                        f"discovery names issuer {doc.get('issuer')!r}, configured {issuer!r}", status=502)
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(field), str):
            raise SsoFailed("The identity provider is misconfigured.", f"discovery lacks {field}", status=502)
    with _lock:
        _cache[issuer] = _Cached(doc, None, time.monotonic())
    return doc


def _jwks(settings: Settings, client: OAuth2Client, doc: dict[str, Any], *, refresh: bool) -> KeySet:
    issuer = (settings.sso_issuer or "").rstrip("/")
    with _lock:
        cached = _cache.get(issuer)
    keys = cached.jwks if cached and not refresh else None
    if keys is None:
        keys = _get_json(client, doc["jwks_uri"], "jwks")
        with _lock:
            if issuer in _cache:
                _cache[issuer].jwks = keys
    try:
        return KeySet.import_key_set(keys)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SsoFailed("The identity provider's signing keys could not be read.", f"jwks: {exc}",
                        status=502) from None


def begin(settings: Settings, *, redirect_uri: str, next_path: str) -> tuple[str, Pending]:
    """The provider's authorization URL (code flow, PKCE S256, state, nonce) and what to keep until the callback."""
    with _client(settings, redirect_uri) as client:
        doc = metadata(settings, client)
    pending = Pending(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64),
                      next_path=next_path)
    with _client(settings, redirect_uri, doc) as client:
        url, _ = client.create_authorization_url(doc["authorization_endpoint"], state=pending.state,
                                                 code_verifier=pending.verifier, nonce=pending.nonce)
    return url, pending


def complete(settings: Settings, pending: Pending, *, code: str, state: str, redirect_uri: str,
             now: datetime) -> dict[str, Any]:
    """Redeem `code` and return the verified ID token's claims; SsoFailed for anything amiss."""
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise SsoFailed("The sign-in could not be matched to this browser (state mismatch). Start again.",
                        "state mismatch")
    if not code or len(code) > 4096:
        raise SsoFailed("The identity provider sent no authorization code.", "no code")
    with _client(settings, redirect_uri) as client:
        doc = metadata(settings, client)
    with _client(settings, redirect_uri, doc) as client:
        try:
            token = client.fetch_token(doc["token_endpoint"], grant_type="authorization_code", code=code,
                                       code_verifier=pending.verifier)
        except Exception as exc:  # Authlib raises OAuthError, httpx errors, Blocked or ValueError (bad JSON)
            raise SsoFailed("The identity provider refused the sign-in; start again.", f"token endpoint: {exc!r}",
                            status=400) from None
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise SsoFailed("The identity provider sent no ID token.", "token response without id_token")
        claims = _verify(settings, client, doc, id_token, token.get("access_token"), pending.nonce, now)
    return claims


def _verify(settings: Settings, client: OAuth2Client, doc: dict[str, Any], id_token: str, access_token: Any,
            nonce: str, now: datetime) -> dict[str, Any]:
    issuer = (settings.sso_issuer or "").rstrip("/")
    allowed = [alg for alg in (doc.get("id_token_signing_alg_values_supported") or ["RS256"]) if alg in ALGORITHMS]
    decoded = None
    for refresh in (False, True):  # a key rotated since we cached the JWKS: fetch it again once
        keys = _jwks(settings, client, doc, refresh=refresh)
        try:
            decoded = jwt.decode(id_token, keys, algorithms=allowed or ["RS256"])
            break
        except (JoseError, ValueError, TypeError) as exc:  # a malformed token may raise either
            if refresh or getattr(exc, "error", None) not in ("invalid_key_id", "bad_signature"):
                raise SsoFailed("The identity provider's ID token could not be verified.",
                                f"id token signature: {exc!r}") from None
    assert decoded is not None
    options: dict[str, Any] = {"iss": {"essential": True, "values": [issuer, issuer + "/"]},
                               "aud": {"essential": True, "value": settings.sso_client_id}}
    params: dict[str, Any] = {"nonce": nonce, "client_id": settings.sso_client_id}
    if isinstance(access_token, str):
        params["access_token"] = access_token
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    try:
        claims.validate(now=int(now.timestamp()), leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError) as exc:
        raise SsoFailed("The identity provider's ID token was not valid for tocsin (expired, or for another "
                        "application). Start again.", f"id token claims: {exc!r}") from None
    return dict(claims)
